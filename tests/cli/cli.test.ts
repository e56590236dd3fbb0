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
import { loginThroughPages } from '../helpers/browserless-login.ts';
import { FAST_ARGON2, startGatehouse } from '../helpers/gatehouse.ts';
import { startRedis } from '../helpers/redis.ts';

const cli = (args: string[], env: NodeJS.ProcessEnv, stdin = '') =>
  runNode('src/cli/main.ts', args, { ARGON2_MEMORY_KIB: '1024', ARGON2_TIME_COST: '1', ...env }, stdin);

test('without Redis the CLI refuses: it cannot reach a server\'s memory store', async (t) => {
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
  t.true(published.keys.every((k) => k.d === undefined), 'private parts never published');
});

test('users and clients created with the CLI work in a server on the same Redis', async (t) => {
  const redis = await startRedis(t);
  const env = { REDIS_URL: redis.url };
  const password = 'correct horse battery staple';

  const add = await cli(['users', 'add', 'alice', '--password-stdin', '--email', 'alice@example.com', '--name', 'Alice', '--role', 'admin', '--role', 'user'], env, `${password}\n`);
  t.is(add.code, 0, add.stderr);
  t.regex(add.stdout, /created user alice/);
  t.notRegex(add.stdout + add.stderr, new RegExp(password));
  const dup = await cli(['users', 'add', 'ALICE', '--password-stdin'], env, `${password}\n`);
  t.is(dup.code, 2);
  t.regex(dup.stderr, /is taken/);
  const weak = await cli(['users', 'add', 'bob', '--password-stdin'], env, 'short\n');
  t.is(weak.code, 2);
  t.regex(weak.stderr, /at least 8 characters/);

  const list = await cli(['users', 'list'], env);
  t.regex(list.stdout, /^alice\t[0-9a-f-]{36}\talice@example\.com\tadmin,user\tactive$/m);
  t.notRegex(list.stdout, /argon2/, 'hashes are never printed');

  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cli-'));
  const file = join(dir, 'client.json');
  writeFileSync(file, JSON.stringify({ client_id: 'cli-app', redirect_uris: ['https://cli-app.example/cb'], grant_types: ['authorization_code', 'refresh_token'] }));
  const created = await cli(['clients', 'add', '--file', file], env);
  t.is(created.code, 0, created.stderr);
  const secret = /client_secret: (\S+)/.exec(created.stdout)?.[1] as string;
  t.true(Buffer.from(secret, 'base64url').length >= 32, '256-bit generated secret');
  t.regex((await cli(['clients', 'list'], env)).stdout, /^cli-app\t/m);

  writeFileSync(join(dir, 'weak.json'), JSON.stringify({ client_id: 'weak', client_secret: 'password123', redirect_uris: ['https://w.example/cb'] }));
  const refused = await cli(['clients', 'add', '--file', join(dir, 'weak.json')], env);
  t.is(refused.code, 2);
  t.regex(refused.stderr, /client_secret is too weak/);
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ client_id: 'bad', redirect_uris: ['not a url'] }));
  const bad = await cli(['clients', 'add', '--file', join(dir, 'bad.json')], env);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /invalid client metadata: redirect_uris/);

  const gh = await startGatehouse(t, { ...FAST_ARGON2, 'redis.url': redis.url });
  const config = await oidc.discovery(new URL(gh.issuer), 'cli-app', secret, undefined, { execute: [oidc.allowInsecureRequests] });
  const url = oidc.buildAuthorizationUrl(config, { redirect_uri: 'https://cli-app.example/cb', scope: 'openid email', state: 's' });
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
  t.regex((await cli(['clients', 'list'], env)).stdout, /^$/);
});
