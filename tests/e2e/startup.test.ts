/**
 * `npm start` as a user runs it: the real entry point in a child process, on the in-memory store.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { startNode } from '../helpers/child.ts';
import { CookieJar, loginThroughPages, request } from '../helpers/browserless-login.ts';
import { freePort, waitFor } from '../../bench/lib/processes.ts';
import { capture, defined } from '../helpers/defined.ts';

const start = (env: NodeJS.ProcessEnv) =>
  startNode('src/main.ts', [], { DATA_DIR: mkdtempSync(join(tmpdir(), 'gatehouse-start-')), ...env });

test('npm start serves discovery, prints the demo sign-in and no runtime warning, and stops cleanly', async (t) => {
  const port = await freePort();
  const issuer = `http://localhost:${port}`;
  const proc = start({ PORT: String(port), ISSUER: issuer });
  t.teardown(() => proc.kill('SIGKILL'));
  await waitFor(() => proc.out().includes('Sign in at:'), 'the sign-in URL', 60_000);
  const discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as Record<
    string,
    string[]
  >;
  for (const g of ['authorization_code', 'refresh_token', 'client_credentials'])
    t.true(discovery.grant_types_supported?.includes(g), g);
  t.regex(proc.out(), /Demo user: +demo \/ demo-password/);
  t.regex(proc.out(), new RegExp(`Sign in at: +${issuer}/auth\\?client_id=demo-client&response_type=code`));
  const authUrl = capture(/Sign in at: +(\S+)/, proc.out());
  const jar = new CookieJar();
  const toLogin = await request(authUrl, jar);
  t.is(toLogin.status, 303);
  const page = await request(new URL(toLogin.headers.get('location') as string, issuer).toString(), jar);
  t.is(page.status, 200);
  t.regex(await page.text(), /<input id="password" name="password" type="password"/);
  proc.kill('SIGTERM');
  t.is(await proc.exited, 0);
  t.is(proc.err(), '', 'nothing on stderr: no runtime warning from oidc-provider or Node');
  t.notRegex(proc.out(), /WARNING|DeprecationWarning|ExperimentalWarning/);
});

test('an invalid configuration exits 1 before listening and names the key', async (t) => {
  const port = await freePort();
  const proc = start({ PORT: String(port), ACCESS_TOKEN_TTL: 'soon' });
  t.is(await proc.exited, 1);
  t.regex(proc.err(), /invalid configuration: ttl.accessToken \(ACCESS_TOKEN_TTL\): must be an integer/);
  await t.throwsAsync(fetch(`http://127.0.0.1:${port}/healthz`));
});

test('production mode refuses an open /metrics on the main port, naming the keys', async (t) => {
  const port = await freePort();
  const proc = start({
    NODE_ENV: 'production',
    PORT: String(port),
    REDIS_URL: 'redis://127.0.0.1:1',
    JWKS_FILE: '/nonexistent/jwks.json',
    COOKIE_KEYS: 'k'.repeat(32),
    ISSUER: 'https://id.example.com',
    SMTP_URL: 'smtp://127.0.0.1:25',
  });
  t.is(await proc.exited, 1);
  t.regex(proc.err(), /invalid configuration: metrics.token \(METRICS_TOKEN\) or metrics.port \(METRICS_PORT\)/);
  await t.throwsAsync(fetch(`http://127.0.0.1:${port}/healthz`));
});

test('production mode refuses to start on the in-memory store', async (t) => {
  const proc = start({ NODE_ENV: 'production', PORT: String(await freePort()) });
  t.is(await proc.exited, 1);
  t.regex(proc.err(), /production refuses the in-memory store/);
});

test('production mode reports every problem at once: Redis, signing keys, cookie keys, issuer, open metrics', async (t) => {
  const proc = start({
    NODE_ENV: 'production',
    PORT: String(await freePort()),
    ISSUER: 'http://id.example.com',
    ACCESS_TOKEN_TTL: '900',
  });
  t.is(await proc.exited, 1);
  t.is(
    proc.err(),
    [
      'gatehouse: invalid configuration (6 problems):',
      '  redis.url (REDIS_URL): production refuses the in-memory store; configure Redis',
      '  jwksFile (JWKS_FILE): production refuses generated signing keys; supply a JWKS (npm run -s cli -- keys generate --out jwks.json)',
      '  cookieKeys (COOKIE_KEYS): production requires cookie signing keys',
      '  issuer (ISSUER): production requires an https issuer (http is allowed for localhost only)',
      '  mail.smtpUrl (SMTP_URL): production needs a mail transport while password reset (PASSWORD_RESET_ENABLED) or registration (REGISTRATION_ENABLED) is on',
      '  metrics.token (METRICS_TOKEN) or metrics.port (METRICS_PORT): production refuses an open /metrics on the main port; set a bearer token, a separate metrics listener (METRICS_PORT, METRICS_HOST), or METRICS_ENABLED=false',
      '',
    ].join('\n'),
  );
});

test('an unreadable JWKS file and an unreachable Redis are reported together, without a stack trace', async (t) => {
  const redisPort = await freePort();
  const proc = start({
    NODE_ENV: 'production',
    PORT: String(await freePort()),
    REDIS_URL: `redis://:pw-${redisPort}-secret@127.0.0.1:${redisPort}`,
    JWKS_FILE: '/nonexistent/jwks.json',
    COOKIE_KEYS: 'k'.repeat(40),
    METRICS_TOKEN: 'm'.repeat(40),
    SMTP_URL: 'smtp://127.0.0.1:25',
  });
  t.is(await proc.exited, 1);
  const lines = proc.err().split('\n');
  t.is(lines.length, 4, proc.err());
  t.is(lines[0], 'gatehouse: cannot start (2 problems):');
  t.is(lines[1], '  jwksFile (JWKS_FILE): cannot read /nonexistent/jwks.json (ENOENT)');
  t.regex(
    defined(lines[2], 'lines[2]'),
    new RegExp(`^  storage unavailable: Redis \\(redis://127\\.0\\.0\\.1:${redisPort}\\) `),
  );
  t.notRegex(proc.err(), /secret|at .*\.ts:\d+/, 'no password, no stack trace');
});

test('a mistyped NODE_ENV is refused, not run as development with the demo account', async (t) => {
  for (const value of ['prod', 'Production', 'dev']) {
    const port = await freePort();
    const proc = start({ NODE_ENV: value, PORT: String(port) });
    t.is(await proc.exited, 1, value);
    t.is(
      proc.err(),
      `gatehouse: invalid configuration: NODE_ENV: "${value}" is not one of development, test, production (unset means development)\n`,
    );
    t.is(proc.out(), '', 'no demo account was printed');
  }
});

test('a port already in use: one line, exit 1, no stack trace', async (t) => {
  const port = await freePort();
  const first = start({ PORT: String(port), ISSUER: `http://localhost:${port}` });
  t.teardown(() => first.kill('SIGKILL'));
  await waitFor(() => first.out().includes('Sign in at:'), 'the sign-in URL', 60_000);
  const second = start({ PORT: String(port), ISSUER: `http://localhost:${port}` });
  t.is(await second.exited, 1);
  t.is(
    second.err(),
    `gatehouse: cannot start: port ${port} is already in use (0.0.0.0:${port}): stop what listens there or set PORT to another port\n`,
  );
  t.notRegex(second.out(), /Sign in at/);
  t.is((await fetch(`http://localhost:${port}/healthz`)).status, 200, 'the first instance is untouched');
});

const unescapeHtml = (html: string) =>
  html
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&#96;', '`')
    .replaceAll('&amp;', '&');

test('the URL npm start prints leads, through the sign-in, to a page whose curl (with the printed export) gets tokens', async (t) => {
  const port = await freePort();
  const issuer = `http://localhost:${port}`;
  const proc = start({ PORT: String(port), ISSUER: issuer, ARGON2_MEMORY_KIB: '1024', ARGON2_TIME_COST: '1' });
  t.teardown(() => proc.kill('SIGKILL'));
  await waitFor(() => proc.out().includes('npm run demo'), 'the demo hint', 60_000);
  const printed = proc.out();
  const authUrl = new URL(capture(/Sign in at: +(\S+)/, printed));
  const exportLine = capture(/^ +(export CODE_VERIFIER=\S+)$/m, printed);
  t.truthy(exportLine, printed);
  const verifier = exportLine.slice('export CODE_VERIFIER='.length);
  t.is(authUrl.searchParams.get('redirect_uri'), `${issuer}/dev/callback`);
  t.is(authUrl.searchParams.get('scope'), 'openid profile email', 'no scope that would be dropped silently');

  // The browser's way: sign in on the pages, land on Gatehouse's callback page.
  const { callback, jar } = await loginThroughPages(authUrl, issuer, {
    username: 'demo',
    password: 'demo-password',
    callbackPrefix: `${issuer}/dev/callback`,
  });
  const landing = await request(callback.href, jar);
  t.is(landing.status, 200);
  t.is(landing.headers.get('cache-control'), 'no-store');
  const html = await landing.text();
  t.false(html.includes(verifier), 'the page never shows the verifier');
  t.regex(html, /npm run demo/);
  const curl = unescapeHtml(capture(/<pre>([\s\S]*?)<\/pre>/, html));
  t.regex(curl, /^curl -s /);

  // The user's way: the printed export, then the curl as shown, in one shell.
  const run = spawnSync('sh', ['-c', `${exportLine}\n${curl}`], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  t.is(run.status, 0, run.stderr);
  const tokens = JSON.parse(run.stdout) as Record<string, string>;
  t.is(tokens.token_type, 'Bearer');
  t.truthy(tokens.access_token);
  t.truthy(tokens.id_token);
  t.truthy(tokens.refresh_token, 'the first-party demo client gets a refresh token');
  t.deepEqual(tokens.scope?.split(' ').sort(), ['email', 'openid', 'profile']);

  // The page alone cannot redeem a code: without the verifier the same curl is refused.
  const again = await loginThroughPages(authUrl, issuer, {
    username: 'demo',
    password: 'demo-password',
    jar,
    callbackPrefix: `${issuer}/dev/callback`,
  });
  const secondCurl = unescapeHtml(
    capture(/<pre>([\s\S]*?)<\/pre>/, await (await request(again.callback.href, jar)).text()),
  );
  const noVerifier = JSON.parse(
    spawnSync('sh', ['-c', secondCurl], { encoding: 'utf8', env: { PATH: process.env.PATH } }).stdout,
  ) as Record<string, string>;
  t.is(noVerifier.error, 'invalid_grant');
  proc.kill('SIGTERM');
  t.is(await proc.exited, 0);
});

test('the development callback page escapes what it is given and answers 400 without a code', async (t) => {
  const port = await freePort();
  const issuer = `http://localhost:${port}`;
  const proc = start({ PORT: String(port), ISSUER: issuer });
  t.teardown(() => proc.kill('SIGKILL'));
  await waitFor(() => proc.out().includes('npm run demo'), 'the demo hint', 60_000);
  const hostile = await fetch(`${issuer}/dev/callback?code=${encodeURIComponent(`x'; rm -rf ~; echo '<script>`)}`);
  const html = await hostile.text();
  t.false(html.includes('<script>'));
  const curl = unescapeHtml(capture(/<pre>([\s\S]*?)<\/pre>/, html));
  t.true(curl.includes(`--data-urlencode code='x'\\''; rm -rf ~; echo '\\''<script>'`), curl);
  const failed = await fetch(
    `${issuer}/dev/callback?error=access_denied&error_description=${encodeURIComponent('<b>no</b>')}`,
  );
  t.is(failed.status, 400);
  t.regex(await failed.text(), /access_denied: &lt;b&gt;no&lt;\/b&gt;/);
  t.is((await fetch(`${issuer}/dev/callback`)).status, 400);
});
