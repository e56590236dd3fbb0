/**
 * Admin recovery and counters: `users mfa list` and `users mfa reset` run as an operator runs them (the real CLI
 * in a child process, on the Redis a running Gatehouse uses), and `gatehouse_mfa_events_total` on /metrics.
 */
import test from 'ava';
import * as oidc from 'openid-client';
import { Secret, TOTP } from 'otpauth';
import { runNode } from '../helpers/child.ts';
import { CookieJar, loginThroughPages, request, discoverClient } from '../helpers/browserless-login.ts';
import { startGatehouse } from '../helpers/gatehouse.ts';
import { startRedis } from '../helpers/redis.ts';
import { capture } from '../helpers/defined.ts';

const REDIRECT = 'http://localhost:5000/callback';
const SECRET = 'web-secret-that-is-long-enough-0123456789abcdef';
const PASSWORD = 'correct horse battery staple';
const PREFIX = 'mfaadmin:';

test('users mfa list / reset: factors listed without secrets, reset removes them with an audit line; metrics count mfa events', async (t) => {
  const redis = await startRedis(t);
  const gh = await startGatehouse(t, {
    'redis.url': redis.url,
    'redis.keyPrefix': PREFIX,
    clients: [
      { client_id: 'web', client_secret: SECRET, redirect_uris: [REDIRECT], scope: 'openid', first_party: true },
    ],
  });
  await gh.gatehouse.accounts.create({ username: 'grace', password: PASSWORD });
  const rp = await discoverClient(gh.issuer, 'web', SECRET);
  const authUrl = (extra: Record<string, string> = {}) =>
    oidc.buildAuthorizationUrl(rp, {
      redirect_uri: REDIRECT,
      scope: 'openid',
      code_challenge: oidc.randomPKCECodeVerifier(),
      code_challenge_method: 'S256',
      ...extra,
    });

  // grace sets up an authenticator app in a sign-in that asks for a second factor, after one wrong first code.
  const jar = new CookieJar();
  const start = await request(authUrl({ acr_values: 'urn:gatehouse:acr:mfa' }).href, jar);
  const interaction = new URL(start.headers.get('location') as string, gh.issuer).href;
  await request(interaction, jar);
  const post = (path: string, fields: Record<string, string>) =>
    request(`${interaction}${path}`, jar, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: gh.issuer },
      body: new URLSearchParams(fields).toString(),
    });
  t.is((await post('/login', { username: 'grace', password: PASSWORD })).status, 303);
  const key = capture(/<code>([A-Z2-7]+)<\/code>/, await (await request(interaction, jar)).text());
  t.is((await post('/mfa', { code: '000000' })).status, 401);
  t.is(
    (
      await post('/mfa', {
        code: new TOTP({ secret: Secret.fromBase32(key), algorithm: 'SHA1', digits: 6, period: 30 }).generate(),
      })
    ).status,
    200,
  );

  const metrics = await (await fetch(`${gh.issuer}/metrics`)).text();
  t.regex(metrics, /^gatehouse_mfa_events_total\{event="enrolled",factor="totp"\} 1$/m);
  t.regex(metrics, /^gatehouse_mfa_events_total\{event="failure",factor="totp_setup"\} 1$/m);

  const env = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: PREFIX, ARGON2_MEMORY_KIB: '1024', ARGON2_TIME_COST: '1' };
  const list = await runNode('src/cli/main.ts', ['users', 'mfa', 'list', 'grace'], env);
  t.is(list.code, 0, list.stderr);
  t.regex(list.stdout, /^totp\tauthenticator app\tadded \d{4}-/m);
  t.regex(list.stdout, /^recovery_codes\t10 unused$/m);
  t.false(list.stdout.includes(key) || list.stderr.includes(key), 'the key is never printed');

  const reset = await runNode('src/cli/main.ts', ['users', 'mfa', 'reset', 'grace'], env);
  t.is(reset.code, 0, reset.stderr);
  t.is(reset.stdout.trim(), 'removed: totp, recovery_codes');
  const audit = reset.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  t.deepEqual(
    audit.filter((l) => l.audit === 'mfa.removed').map((l) => [l.factor, l.reason]),
    [
      ['totp', 'admin_reset'],
      ['recovery_codes', 'admin_reset'],
    ],
  );
  t.is((await runNode('src/cli/main.ts', ['users', 'mfa', 'list', 'grace'], env)).stdout.trim(), 'no second factor');

  // With no factor left, a plain sign-in is the password alone again (loginThroughPages refuses any other page).
  const { callback } = await loginThroughPages(authUrl(), gh.issuer, { username: 'grace', password: PASSWORD });
  t.truthy(callback.searchParams.get('code'));

  const unknown = await runNode('src/cli/main.ts', ['users', 'mfa', 'reset', 'nobody'], env);
  t.is(unknown.code, 1);
  const usage = await runNode('src/cli/main.ts', ['users', 'mfa', 'wipe', 'grace'], env);
  t.is(usage.code, 2);
  t.regex(usage.stderr, /users mfa reset <username>/);
});
