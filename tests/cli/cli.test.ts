/**
 * The CLI as an operator runs it: the real entry point in a child process, against a real redis-server, and a
 * Gatehouse on the same Redis that then signs the new user in and serves the new client.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import * as oidc from 'openid-client';
import { runNode } from '../helpers/child.ts';
import { loginThroughPages, discoverClient } from '../helpers/browserless-login.ts';
import { FAST_ARGON2, startGatehouse } from '../helpers/gatehouse.ts';
import { freePort } from '../../bench/lib/processes.ts';
import { startRedis } from '../helpers/redis.ts';
import { capture } from '../helpers/defined.ts';

const cli = (args: string[], env: NodeJS.ProcessEnv, stdin = '') =>
  runNode('src/cli/main.ts', args, { ARGON2_MEMORY_KIB: '1024', ARGON2_TIME_COST: '1', ...env }, stdin);

test("without Redis the CLI refuses: it cannot reach a server's memory store", async (t) => {
  const run = await cli(['users', 'list'], {});
  t.is(run.code, 1);
  t.regex(run.stderr, /cannot reach a running server's in-memory store/);
});

test('usage errors exit 2 and say what is wrong', async (t) => {
  t.is((await cli([], {})).code, 2);
  const unknown = await cli(['frobnicate'], {});
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /unknown command frobnicate/);
  const noStdin = await cli(['users', 'add', 'bob'], { REDIS_URL: 'redis://127.0.0.1:1' });
  t.is(noStdin.code, 2);
  t.regex(noStdin.stderr, /needs --password-stdin/);
});

test('keys generate writes a private JWKS the server accepts', async (t) => {
  const run = await cli(['keys', 'generate'], {});
  t.is(run.code, 0);
  const jwks = JSON.parse(run.stdout) as { keys: Array<{ alg: string; kid: string; d?: string }> };
  t.deepEqual(jwks.keys.map((k) => k.alg).sort(), ['ES256', 'EdDSA', 'RS256']);
  t.true(jwks.keys.every((k) => k.d && k.kid));
  const gh = await startGatehouse(t, {}, { JWKS: run.stdout });
  const published = (await (await fetch(`${gh.issuer}/jwks`)).json()) as { keys: Array<{ kid: string; d?: string }> };
  t.deepEqual(published.keys.map((k) => k.kid).sort(), jwks.keys.map((k) => k.kid).sort());
  t.true(
    published.keys.every((k) => k.d === undefined),
    'private parts never published',
  );
});

test('users and clients created with the CLI work in a server on the same Redis', async (t) => {
  const redis = await startRedis(t);
  const env = { REDIS_URL: redis.url };
  const password = 'correct horse battery staple';

  const add = await cli(
    [
      'users',
      'add',
      'alice',
      '--password-stdin',
      '--email',
      'alice@example.com',
      '--name',
      'Alice',
      '--role',
      'admin',
      '--role',
      'user',
    ],
    env,
    `${password}\n`,
  );
  t.is(add.code, 0, add.stderr);
  t.regex(add.stdout, /created user alice/);
  t.notRegex(add.stdout + add.stderr, new RegExp(password));
  const dup = await cli(['users', 'add', 'ALICE', '--password-stdin'], env, `${password}\n`);
  t.is(dup.code, 2);
  t.regex(dup.stderr, /is taken/);
  const weak = await cli(['users', 'add', 'bob', '--password-stdin'], env, 'short\n');
  t.is(weak.code, 2);
  t.regex(weak.stderr, /at least 12 characters/);

  const list = await cli(['users', 'list'], env);
  t.regex(list.stdout, /^alice\t[0-9a-f-]{36}\talice@example\.com\tadmin,user\tactive$/m);
  t.notRegex(list.stdout, /argon2/, 'hashes are never printed');

  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cli-'));
  const file = join(dir, 'client.json');
  writeFileSync(
    file,
    JSON.stringify({
      client_id: 'cli-app',
      redirect_uris: ['https://cli-app.example/cb'],
      grant_types: ['authorization_code', 'refresh_token'],
    }),
  );
  const created = await cli(['clients', 'add', '--file', file], env);
  t.is(created.code, 0, created.stderr);
  const secret = capture(/client_secret: (\S+)/, created.stdout);
  t.true(Buffer.from(secret, 'base64url').length >= 32, '256-bit generated secret');
  t.regex((await cli(['clients', 'list'], env)).stdout, /^cli-app\t/m);

  writeFileSync(
    join(dir, 'weak.json'),
    JSON.stringify({ client_id: 'weak', client_secret: 'password123', redirect_uris: ['https://w.example/cb'] }),
  );
  const refused = await cli(['clients', 'add', '--file', join(dir, 'weak.json')], env);
  t.is(refused.code, 2);
  t.regex(refused.stderr, /client_secret is too weak/);
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ client_id: 'bad', redirect_uris: ['not a url'] }));
  const bad = await cli(['clients', 'add', '--file', join(dir, 'bad.json')], env);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /invalid client metadata: redirect_uris/);

  const gh = await startGatehouse(t, { ...FAST_ARGON2, 'redis.url': redis.url });
  const config = await discoverClient(gh.issuer, 'cli-app', secret);
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: 'https://cli-app.example/cb',
    scope: 'openid email',
    state: 's',
  });
  const { callback } = await loginThroughPages(url, gh.issuer, { username: 'alice', password });
  const tokens = await oidc.authorizationCodeGrant(config, callback, { expectedState: 's' });
  // The ID token carries only `sub` when an access token is issued; profile claims come from userinfo (OIDC Core 5.4).
  const sub = tokens.claims()?.sub as string;
  t.regex(list.stdout, new RegExp(`^alice\t${sub}\t`, 'm'), 'the ID token names the CLI-created account');
  const info = await oidc.fetchUserInfo(config, tokens.access_token, sub);
  t.is(info.email, 'alice@example.com');

  t.is((await cli(['users', 'disable', 'alice'], env)).code, 0);
  await t.throwsAsync(loginThroughPages(url, gh.issuer, { username: 'alice', password }), { message: 'login failed' });
  t.is((await cli(['users', 'enable', 'alice'], env)).code, 0);
  t.is((await cli(['users', 'passwd', 'alice', '--password-stdin'], env, 'a brand new password\n')).code, 0);
  await t.throwsAsync(loginThroughPages(url, gh.issuer, { username: 'alice', password }), { message: 'login failed' });
  await t.notThrowsAsync(loginThroughPages(url, gh.issuer, { username: 'alice', password: 'a brand new password' }));

  t.is((await cli(['users', 'remove', 'alice'], env)).code, 0);
  const gone = await cli(['users', 'remove', 'alice'], env);
  t.is(gone.code, 1);
  t.regex(gone.stderr, /no user alice/);
  t.is((await cli(['clients', 'remove', 'cli-app'], env)).code, 0);
  t.is((await cli(['clients', 'list'], env)).stdout, '(no clients)\n');
});

test('--help works at every level, without a store, and exits 0', async (t) => {
  // [arguments, what the help shows, what it leaves out (another level's help)]
  const cases: Array<[string[], RegExp, RegExp]> = [
    [['--help'], /^usage: gatehouse <command>/m, /^usage:$/m],
    [['help'], /^usage: gatehouse <command>/m, /^usage:$/m],
    [['users', '--help'], /^users add <username> --password-stdin/m, /^clients /m],
    [['users', 'add', '--help'], /^users add <username> --password-stdin/m, /^users list/m],
    [['users', 'add', 'bob', '-h'], /^users add <username>/m, /^users list/m],
    [['help', 'users', 'update'], /^users update <username> \[--email E\]/m, /^users add/m],
    [['clients', 'add', '--help'], /^clients add --file client\.json$/m, /^clients list/m],
    [['clients', '--help'], /^clients show <client_id>$/m, /^users /m],
    [['keys', 'rotate', 'retire', '--help'], /^keys rotate retire --file jwks\.json/m, /^keys rotate add/m],
    [['keys', 'generate', '--help'], /^keys generate \[--out jwks\.json\]$/m, /^keys rotate/m],
  ];
  for (const [args, shows, hides] of cases) {
    // A Redis nobody listens on: help must not need one.
    const run = await cli(args, { REDIS_URL: 'redis://127.0.0.1:1' });
    t.is(run.code, 0, `${args.join(' ')}: ${run.stderr}`);
    t.is(run.stderr, '');
    t.regex(run.stdout, shows, args.join(' '));
    t.notRegex(run.stdout, hides, args.join(' '));
  }
});

test('an unreachable Redis: one line naming its host, never its password, exit 1', async (t) => {
  const port = await freePort();
  const run = await cli(['users', 'list'], { REDIS_URL: `redis://admin:s3cret-Passw0rd@127.0.0.1:${port}/0` });
  t.is(run.code, 1);
  t.is(run.stdout, '');
  t.regex(
    run.stderr,
    new RegExp(`^gatehouse: storage unavailable: Redis \\(redis://127\\.0\\.0\\.1:${port}\\) [^\n]+\n$`),
  );
  t.notRegex(run.stderr, /s3cret|admin|temporarily_unavailable/);
  const clients = await cli(['clients', 'list'], { REDIS_URL: `redis://:s3cret-Passw0rd@127.0.0.1:${port}` });
  t.is(clients.code, 1);
  t.regex(clients.stderr, new RegExp(`^gatehouse: storage unavailable: Redis \\(redis://127\\.0\\.0\\.1:${port}\\)`));
  t.notRegex(clients.stderr, /s3cret/);
});

test('lists have headers and say when they are empty; show and update never print a secret or hash', async (t) => {
  const redis = await startRedis(t);
  const env = { REDIS_URL: redis.url };
  t.is((await cli(['users', 'list'], env)).stdout, '(no users)\n');
  t.is((await cli(['clients', 'list'], env)).stdout, '(no clients)\n');

  const password = 'a passphrase of several words';
  t.is(
    (
      await cli(
        ['users', 'add', 'bob', '--password-stdin', '--email', 'bob@example.com', '--role', 'user'],
        env,
        password,
      )
    ).code,
    0,
  );
  const list = await cli(['users', 'list'], env);
  t.regex(list.stdout, /^USERNAME\tSUB\tEMAIL\tROLES\tSTATUS\nbob\t[0-9a-f-]{36}\tbob@example\.com\tuser\tactive\n$/);

  const show = await cli(['users', 'show', 'BOB'], env);
  t.is(show.code, 0, show.stderr);
  t.regex(show.stdout, /^username: +bob$/m);
  t.regex(show.stdout, /^email: +bob@example\.com \(not verified\)$/m);
  t.regex(show.stdout, /^roles: +user$/m);
  t.notRegex(show.stdout, /argon2|passw/i);
  const missing = await cli(['users', 'show', 'nobody'], env);
  t.is(missing.code, 1);
  t.is(missing.stderr, 'gatehouse: no user nobody\n');

  const update = await cli(
    [
      'users',
      'update',
      'bob',
      '--name',
      'Bob Builder',
      '--role',
      'admin',
      '--role',
      'user',
      '--email',
      'b@example.org',
    ],
    env,
  );
  t.is(update.code, 0, update.stderr);
  const after = (await cli(['users', 'show', 'bob'], env)).stdout;
  t.regex(after, /^name: +Bob Builder$/m);
  t.regex(after, /^roles: +admin,user$/m);
  t.regex(after, /^email: +b@example\.org \(not verified\)$/m);
  t.is((await cli(['users', 'update', 'bob', '--email', '', '--no-roles'], env)).code, 0);
  const cleared = (await cli(['users', 'show', 'bob'], env)).stdout;
  t.regex(cleared, /^email: +-$/m);
  t.regex(cleared, /^roles: +-$/m);
  t.regex(cleared, /^name: +Bob Builder$/m, 'what is not named stays');
  const nothing = await cli(['users', 'update', 'bob'], env);
  t.is(nothing.code, 2);
  t.regex(nothing.stderr, /needs at least one of/);
  t.is((await cli(['users', 'update', 'bob', '--email', 'not-an-email'], env)).code, 2);

  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cli-'));
  const file = join(dir, 'client.json');
  writeFileSync(
    file,
    JSON.stringify({ client_id: 'web', client_name: 'Web', redirect_uris: ['https://web.example/cb'] }),
  );
  const created = await cli(['clients', 'add', '--file', file], env);
  const secret = capture(/client_secret: (\S+)/, created.stdout);
  t.truthy(secret);
  const clientList = await cli(['clients', 'list'], env);
  t.is(
    clientList.stdout,
    'CLIENT_ID\tAUTH_METHOD\tGRANT_TYPES\tREDIRECT_URIS\tCREATED_BY\nweb\tclient_secret_basic\tauthorization_code\thttps://web.example/cb\tcli\n',
  );

  const shown = await cli(['clients', 'show', 'web'], env);
  t.is(shown.code, 0, shown.stderr);
  t.false(shown.stdout.includes(secret), 'the secret is never shown');
  t.regex(shown.stdout, /\(client_secret is set and not shown\)/);
  const json = JSON.parse(shown.stdout.slice(0, shown.stdout.lastIndexOf('}') + 1)) as Record<string, unknown>;
  t.is(json.client_id, 'web');
  t.is(json.client_secret, undefined);

  // show → edit → update: the stored secret is kept, the new metadata applies.
  writeFileSync(
    file,
    JSON.stringify({
      ...json,
      client_name: 'Web renamed',
      redirect_uris: ['https://web.example/cb', 'https://web.example/cb2'],
    }),
  );
  const updated = await cli(['clients', 'update', 'web', '--file', file], env);
  t.is(updated.code, 0, updated.stderr);
  t.is(updated.stdout, 'updated client web\n', 'no new secret when the stored one is kept');
  t.regex((await cli(['clients', 'show', 'web'], env)).stdout, /"client_name": "Web renamed"/);
  const gh = await startGatehouse(t, { ...FAST_ARGON2, 'redis.url': redis.url });
  const token = await fetch(`${gh.issuer}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`web:${secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=authorization_code&code=nope&redirect_uri=https%3A%2F%2Fweb.example%2Fcb2',
  });
  t.is(
    ((await token.json()) as { error: string }).error,
    'invalid_grant',
    'the kept secret still authenticates the client',
  );

  writeFileSync(
    join(dir, 'other.json'),
    JSON.stringify({ client_id: 'other', redirect_uris: ['https://web.example/cb'] }),
  );
  const mismatch = await cli(['clients', 'update', 'web', '--file', join(dir, 'other.json')], env);
  t.is(mismatch.code, 2);
  t.regex(mismatch.stderr, /names client_id other, not web/);
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ redirect_uris: ['not a url'] }));
  t.is((await cli(['clients', 'update', 'web', '--file', join(dir, 'bad.json')], env)).code, 2);
  t.is((await cli(['clients', 'show', 'nope'], env)).code, 1);
  t.is((await cli(['clients', 'update', 'nope', '--file', file], env)).code, 2, 'the file names web');
});

test('passwords: at least 12 characters by default, configurable; common passwords refused; no composition rules', async (t) => {
  const redis = await startRedis(t);
  const env = { REDIS_URL: redis.url };
  const add = (name: string, password: string, extra: NodeJS.ProcessEnv = {}) =>
    cli(['users', 'add', name, '--password-stdin'], { ...env, ...extra }, `${password}\n`);

  const short = await add('u1', 'elevenchars');
  t.is(short.code, 2);
  t.is(short.stderr, 'gatehouse: password must be at least 12 characters\n');
  for (const common of ['password1234', 'PASSWORD1234', '123456789012', 'qwertyuiop123']) {
    const run = await add('u2', common);
    t.is(run.code, 2, common);
    t.regex(run.stderr, /one of the most commonly used passwords/);
    t.false(run.stderr.includes(common), 'the password is not echoed');
  }
  t.regex((await add('carol-the-admin', 'carol-the-admin')).stderr, /must not be the username/);
  t.is((await add('u3', 'lowercase words only')).code, 0, 'no composition rules');
  t.is((await add('u4', 'sixteen-is-long', { PASSWORD_MIN_LENGTH: '16' })).code, 2);
  t.is((await add('u4', 'sixteen-is-long!', { PASSWORD_MIN_LENGTH: '16' })).code, 0);
  t.is(
    (await cli(['users', 'passwd', 'u3', '--password-stdin'], env, '1qaz2wsx3edc\n')).code,
    2,
    'a change passes the same rules',
  );
  t.is((await cli(['users', 'passwd', 'u3', '--password-stdin'], env, 'short\n')).code, 2);
  t.is((await add('u5', 'x', { PASSWORD_MIN_LENGTH: '6' })).code, 2, 'NIST: never below 8');
});
