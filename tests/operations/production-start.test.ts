/**
 * The production start command, from compiled output, in the container's layout: `tsc -p tsconfig.build.json`
 * into a fresh directory that holds what the Dockerfile's runtime stage holds (dist/, views/, config/,
 * package.json, node_modules), then `npm run start:prod`'s command (`node dist/main.js`) there with
 * NODE_ENV=production on a real Redis. It must become ready, serve discovery and the sign-in page (so the
 * compiled code finds views/ and config/ and every `.ts` import was rewritten), serve /metrics on its separate
 * listener only (METRICS_PORT), and stop with exit 0.
 * The Dockerfile's CMD is checked to be that same command.
 */
import { mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import * as oidc from 'openid-client';
import { startChild } from '../helpers/child.ts';
import { generateJwks } from '../../src/provider/keys.ts';
import { CookieJar, request } from '../helpers/browserless-login.ts';
import { freePort, waitFor } from '../../bench/lib/processes.ts';
import { startRedis } from '../helpers/redis.ts';
import { parseExposition } from './prometheus-text.ts';
import { defined } from '../helpers/defined.ts';

const root = new URL('../../', import.meta.url).pathname;

const run = (cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) =>
  startChild(cmd, args, { cwd, env });

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

test('the Dockerfile runs the same command as `npm run start:prod`, and ships what the compiled server reads', (t) => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)?.[1];
  t.truthy(cmd, 'the Dockerfile has an exec-form CMD');
  t.is(
    (JSON.parse(cmd as string) as string[]).join(' '),
    defined(pkg.scripts['start:prod'], "pkg.scripts['start:prod']"),
  );
  t.is(pkg.scripts['start:prod'], 'node dist/main.js');
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('FROM '));
  for (const line of [
    'COPY --from=build /src/dist ./dist',
    'COPY views ./views',
    'COPY config/default.json ./config/default.json',
    'RUN npm ci --omit=dev',
    'USER node',
    'HEALTHCHECK',
    'EXPOSE 3000',
  ]) {
    t.true(runtime.includes(line), `runtime stage: ${line}`);
  }
  t.regex(dockerfile, /^ARG NODE_IMAGE=node:24\.\d+\.\d+-bookworm-slim$/m, 'a pinned Node 24 base');
});

test('compiled output starts with `node dist/main.js` in production on Redis: ready, discovery, sign-in page, clean stop', async (t) => {
  const app = mkdtempSync(join(tmpdir(), 'gatehouse-prod-'));
  const build = run(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', join(app, 'dist')],
    root,
  );
  t.is(await build.exited, 0, `tsc: ${build.out()}${build.err()}`);
  for (const entry of ['views', 'config', 'package.json', 'node_modules'])
    symlinkSync(join(root, entry), join(app, entry));

  const compiled = filesUnder(join(app, 'dist')).filter((f) => f.endsWith('.js'));
  t.true(compiled.includes(join(app, 'dist', 'main.js')));
  const tsImports = compiled.filter((f) =>
    /(?:from\s*|import\s*\(\s*)["']\.{1,2}\/[^"']*\.ts["']/.test(readFileSync(f, 'utf8')),
  );
  t.deepEqual(tsImports, [], 'every relative .ts import was rewritten to .js');
  t.false(
    filesUnder(join(app, 'dist')).some((f) => f.endsWith('.ts')),
    'no TypeScript in dist',
  );

  const redis = await startRedis(t);
  const port = await freePort();
  const metricsPort = await freePort();
  const issuer = `http://localhost:${port}`;
  const configFile = join(app, 'clients.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      clients: [
        {
          client_id: 'spa',
          token_endpoint_auth_method: 'none',
          redirect_uris: ['https://spa.example/cb'],
          grant_types: ['authorization_code'],
        },
      ],
    }),
  );
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const [command, ...args] = defined(pkg.scripts['start:prod'], "pkg.scripts['start:prod']").split(' ');
  t.is(command, 'node', 'start:prod runs node (here: the project’s Node 24)');
  const server = run(process.execPath, args, app, {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    SMTP_URL: 'smtp://127.0.0.1:25',
    PORT: String(port),
    HOST: '127.0.0.1',
    ISSUER: issuer,
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: `p${process.pid}:`,
    COOKIE_KEYS: 'a-production-cookie-key-for-the-test-0123456789',
    JWKS: JSON.stringify(await generateJwks()),
    CONFIG_FILE: configFile,
    // Production needs /metrics behind a token or on its own listener: here, its own listener.
    METRICS_PORT: String(metricsPort),
    METRICS_HOST: '127.0.0.1',
  });
  t.teardown(() => server.kill('SIGKILL'));
  await waitFor(() => server.out().includes('gatehouse listening') || server.exitCode() !== null, 'start-up');
  t.is(server.exitCode(), null, `running: ${server.err()}`);

  const ready = await fetch(`${issuer}/readyz`);
  t.is(ready.status, 200);
  t.like(await ready.json(), { status: 'ready', storage: 'ok' });
  const discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as Record<
    string,
    unknown
  >;
  t.is(discovery.issuer, issuer);
  t.is(discovery.token_endpoint, `${issuer}/token`);

  // The sign-in page: the compiled code read views/ from the layout.
  const verifier = oidc.randomPKCECodeVerifier();
  const auth = new URL('/auth', issuer);
  auth.search = new URLSearchParams({
    client_id: 'spa',
    response_type: 'code',
    scope: 'openid',
    redirect_uri: 'https://spa.example/cb',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  }).toString();
  const jar = new CookieJar();
  const toLogin = await request(auth.toString(), jar);
  t.is(toLogin.status, 303);
  const page = await request(new URL(toLogin.headers.get('location') as string, issuer).toString(), jar);
  t.is(page.status, 200);
  t.regex(await page.text(), /<input id="password" name="password" type="password"/);

  const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  t.is(metrics.status, 200);
  t.true(parseExposition(await metrics.text()).has('gatehouse_http_requests_total'));
  t.is((await fetch(`${issuer}/metrics`)).status, 404, 'the main port has no /metrics');
  t.is(
    (await fetch(`http://127.0.0.1:${metricsPort}/.well-known/openid-configuration`)).status,
    404,
    'the metrics listener serves nothing else',
  );

  server.kill('SIGTERM');
  t.is(await server.exited, 0);
  t.is(server.err(), '', 'nothing on stderr: no warning, no stack');
  const lines = server
    .out()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  t.true(
    lines.every((l) => l.service === 'gatehouse'),
    'stdout is JSON log lines only',
  );
  t.true(lines.some((l) => l.msg === 'stopped'));
});
