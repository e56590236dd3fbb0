/**
 * `users sessions` and `users signout` as an operator runs them: the real CLI in a child process, against the
 * real Redis of a running Gatehouse, on sessions made by signing in over HTTP with a real relying party.
 */
import test from 'ava';
import * as oidc from 'openid-client';
import { authorizeWithPkce, CookieJar, loginThroughPages, request } from '../helpers/browserless-login.ts';
import { runNode } from '../helpers/child.ts';
import { FAST_ARGON2, startGatehouse } from '../helpers/gatehouse.ts';
import { startRedis } from '../helpers/redis.ts';
import { CLIENTS, REDIRECT, rp } from '../security/fixtures.ts';
import { capture } from '../helpers/defined.ts';

const PASSWORD = 'correct horse battery staple';
const cli = (args: string[], env: NodeJS.ProcessEnv, stdin = '') =>
  runNode('src/cli/main.ts', args, { ARGON2_MEMORY_KIB: '1024', ARGON2_TIME_COST: '1', ...env }, stdin);

test("users sessions lists a user's devices; users signout ends them all and revokes their tokens", async (t) => {
  const redis = await startRedis(t);
  const env = { REDIS_URL: redis.url };
  const gh = await startGatehouse(t, { ...FAST_ARGON2, 'redis.url': redis.url, clients: CLIENTS });
  await gh.gatehouse.accounts.create({ username: 'carol', password: PASSWORD });
  await gh.gatehouse.accounts.create({ username: 'dave', password: PASSWORD });
  const a = await rp(gh.issuer, 'client-a');
  const devices = [new CookieJar(), new CookieJar()];
  const refreshTokens: string[] = [];
  for (const [i, jar] of devices.entries()) {
    const userAgent = i === 0 ? 'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0' : 'curl/8.0';
    const { callback, verifier } = await authorizeWithPkce(
      a,
      gh.issuer,
      { username: 'carol', password: PASSWORD, jar, headers: { 'user-agent': userAgent } },
      { redirect_uri: REDIRECT, scope: 'openid offline_access' },
    );
    refreshTokens.push(
      (await oidc.authorizationCodeGrant(a, callback, { pkceCodeVerifier: verifier })).refresh_token as string,
    );
  }
  const daveJar = new CookieJar();
  await loginThroughPages(`${gh.issuer}/account`, gh.issuer, {
    username: 'dave',
    password: PASSWORD,
    jar: daveJar,
    callbackPrefix: `${gh.issuer}/account/callback`,
  });

  const listed = await cli(['users', 'sessions', 'carol'], env);
  t.is(listed.code, 0, listed.stderr);
  const rows = listed.stdout.trim().split('\n');
  t.is(rows[0], 'SESSION\tBROWSER\tSYSTEM\tIP\tSIGNED_IN\tLAST_SEEN\tAPPLICATIONS');
  t.is(rows.length, 3, 'two sessions');
  t.true(rows.some((r) => /\tFirefox 140\tLinux\t127\.0\.0\.1\t\d{4}-\d\d-\d\dT[^\t]+\t[^\t]+\tclient-a$/.test(r)));

  const out = await cli(['users', 'signout', 'carol'], env);
  t.is(out.code, 0, out.stderr);
  t.is(out.stdout.trim(), 'ended 2 sessions of carol');
  const audit = out.stderr
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, string>);
  t.true(audit.some((l) => l.audit === 'account.sessions_ended' && l.reason === 'admin_signout' && l.kind === '2'));
  t.is(audit.filter((l) => l.audit === 'grant.revoked' && l.reason === 'admin_signout').length, 2);
  for (const rt of refreshTokens) {
    t.false(out.stderr.includes(rt));
    await t.throwsAsync(
      oidc.refreshTokenGrant(a, rt),
      { code: 'OAUTH_RESPONSE_BODY_ERROR' },
      'offline tokens of the signed-out sessions are refused',
    );
  }
  for (const jar of devices) {
    const res = await request(`${gh.issuer}/account`, jar);
    t.is(res.status, 303);
    t.regex(res.headers.get('location') ?? '', /\/auth\?/, 'each device must sign in again');
  }
  t.is((await cli(['users', 'sessions', 'carol'], env)).stdout.trim(), '(no sessions)');
  t.is((await request(`${gh.issuer}/account`, daveJar)).status, 200, 'another user keeps their session');

  const unknown = await cli(['users', 'signout', 'nobody'], env);
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, /nobody/);
  t.is((await cli(['users', 'sessions'], env)).code, 2);
  t.regex((await cli(['users', 'signout', '--help'], env)).stdout, /users signout <username>/);
});

test('users add --email-verified marks the email verified; --send-verification mails a link that verifies it', async (t) => {
  const redis = await startRedis(t);
  const env = { REDIS_URL: redis.url };
  const gh = await startGatehouse(t, { ...FAST_ARGON2, 'redis.url': redis.url });
  const verified = await cli(
    ['users', 'add', 'liam', '--password-stdin', '--email', 'liam@example.com', '--email-verified'],
    env,
    `${PASSWORD}\n`,
  );
  t.is(verified.code, 0, verified.stderr);
  t.true((await gh.gatehouse.accounts.find('liam')).emailVerified);

  // No SMTP_URL in development: the mail is a log line on stderr with its link.
  const sent = await cli(
    ['users', 'add', 'mia', '--password-stdin', '--email', 'mia@example.com', '--send-verification'],
    { ...env, ISSUER: gh.issuer },
    `${PASSWORD}\n`,
  );
  t.is(sent.code, 0, sent.stderr);
  t.regex(sent.stdout, /verification link sent to mia@example\.com/);
  t.false((await gh.gatehouse.accounts.find('mia')).emailVerified);
  const link = capture(/"link":"([^"]+)"/, sent.stderr);
  t.true(link.startsWith(`${gh.issuer}/account/verify/`));
  const res = await fetch(link, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: gh.issuer },
    body: '',
  });
  t.is(res.status, 200);
  t.true((await gh.gatehouse.accounts.find('mia')).emailVerified);

  const both = await cli(
    ['users', 'add', 'noah', '--password-stdin', '--email', 'n@example.com', '--email-verified', '--send-verification'],
    env,
    `${PASSWORD}\n`,
  );
  t.is(both.code, 2);
  const noEmail = await cli(['users', 'add', 'noah', '--password-stdin', '--email-verified'], env, `${PASSWORD}\n`);
  t.is(noEmail.code, 2);
  t.regex(noEmail.stderr, /need --email/);
});
