/**
 * The audit trail, captured from the logger's destination of a real Gatehouse driven through real flows:
 * each event of the issue appears as one JSON line with its event name (`audit`), `requestId`, `clientId` and
 * `sub` where they apply; one reuse gives one line whichever path caught it; and no line carries a password,
 * client secret, code, verifier, token or cookie value (whole or as a 16-character slice).
 */
import test from 'ava';
import * as oidc from 'openid-client';
import { findLeaks } from '../helpers/leaks.ts';
import { CookieJar, loginThroughPages, request } from '../helpers/browserless-login.ts';
import { currentScope } from '../../src/web/request-labels.ts';
import { startGatehouse } from '../helpers/gatehouse.ts';
import { startRedis } from '../helpers/redis.ts';
import {
  basic,
  CLIENTS,
  codeFlow,
  codeOnly,
  FORM,
  flowSecrets,
  REDIRECT,
  knownSecrets,
  rp,
  SECRET_A,
  WRONG_PASSWORD,
  WRONG_SECRET,
} from '../security/fixtures.ts';
import { capture, defined } from '../helpers/defined.ts';

type Line = Record<string, unknown>;

test('every audit event, with request id, client and subject, and no secret in any line', async (t) => {
  const gh = await startGatehouse(t, {
    clients: CLIENTS,
    logLevel: 'trace',
    'refreshTokens.reuseIntervalSeconds': 0,
    'loginThrottle.maxFailures': 2,
  });
  const audit = (event: string): Line[] => gh.logs.filter((l) => l.audit === event);
  const a = await rp(gh.issuer, 'client-a');
  const b = await rp(gh.issuer, 'client-b');
  const sub = (await gh.gatehouse.store.accounts.findByUsername('demo'))?.id;
  t.truthy(sub);
  const secrets = knownSecrets();

  // login.failure (with the request id we chose); then two failures of an unknown username lock it.
  const url = oidc.buildAuthorizationUrl(a, { redirect_uri: REDIRECT, scope: 'openid' });
  await t.throwsAsync(
    loginThroughPages(url, gh.issuer, {
      username: 'demo',
      password: WRONG_PASSWORD,
      headers: { 'x-request-id': 'audit-failure-1' },
    }),
  );
  t.like(audit('login.failure')[0], {
    audit: 'login.failure',
    requestId: 'audit-failure-1',
    clientId: 'client-a',
    reason: 'bad_password',
  });
  for (const id of ['audit-unknown-1', 'audit-unknown-2']) {
    await t.throwsAsync(
      loginThroughPages(url, gh.issuer, {
        username: 'nobody',
        password: WRONG_PASSWORD,
        headers: { 'x-request-id': id },
      }),
    );
  }
  t.like(audit('login.failure')[1], { requestId: 'audit-unknown-1', clientId: 'client-a', reason: 'unknown' });
  t.is(audit('login.locked').length, 1);
  t.like(audit('login.locked')[0], { kind: 'user', requestId: 'audit-unknown-2' });

  // login.success, consent.granted, token.issued, token.refreshed.
  const flow = await codeFlow(gh.issuer, a, 'openid offline_access api:read');
  Object.assign(secrets, flowSecrets(flow));
  t.like(audit('login.success')[0], { clientId: 'client-a', sub });
  t.like(audit('consent.granted')[0], { clientId: 'client-a', sub });
  t.like(audit('token.issued')[0], { clientId: 'client-a', sub, grantType: 'authorization_code' });
  const refreshed = await oidc.refreshTokenGrant(a, flow.tokens.refresh_token as string);
  secrets['rotated refresh token'] = refreshed.refresh_token as string;
  t.like(audit('token.refreshed')[0], { clientId: 'client-a', sub, grantType: 'refresh_token' });

  // refresh_token.reuse_detected: the replay is one line, and its family revocation is not a second one.
  await t.throwsAsync(oidc.refreshTokenGrant(a, flow.tokens.refresh_token as string));
  t.is(audit('refresh_token.reuse_detected').length, 1);
  t.like(audit('refresh_token.reuse_detected')[0], { clientId: 'client-a', sub });
  t.is(audit('grant.revoked').length, 0, 'the revocation a reuse causes is part of the reuse event');

  // A race of two refreshes with one token (reuse interval 0): one wins; the loser is one reuse line, whether
  // oidc-provider saw the token consumed or the store's atomic consume refused it.
  const race = await codeFlow(gh.issuer, a, 'openid offline_access');
  secrets['race refresh token'] = race.tokens.refresh_token as string;
  const storeCaught: unknown[] = [];
  gh.gatehouse.store.onReuse((e) => storeCaught.push(e));
  const results = await Promise.allSettled(
    [0, 1].map(() => oidc.refreshTokenGrant(a, race.tokens.refresh_token as string)),
  );
  t.log(
    `the race was caught by ${storeCaught.length ? "the store's atomic consume" : 'oidc-provider (token found consumed)'}`,
  );
  t.is(results.filter((r) => r.status === 'fulfilled').length, 1);
  t.is(audit('refresh_token.reuse_detected').length, 2, 'one more line for the race, not two');
  t.false(gh.logs.some((l) => l.audit === 'token_family.revoked'));

  // authorization_code.reuse_detected.
  const { code, verifier } = await codeOnly(gh.issuer, a);
  secrets['code 2'] = code;
  const exchange = () =>
    fetch(`${gh.issuer}/token`, {
      method: 'POST',
      headers: { ...FORM, authorization: basic('client-a', SECRET_A) },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT,
        code_verifier: verifier,
      }),
    });
  const first = (await (await exchange()).json()) as Record<string, string>;
  Object.assign(secrets, {
    'access token 2': first.access_token as string,
    'refresh token 2': first.refresh_token as string,
  });
  t.is((await exchange()).status, 400);
  t.is(audit('authorization_code.reuse_detected').length, 1);
  // No `sub` here: oidc-provider revokes the grant before it exposes the code's record to listeners.
  t.like(audit('authorization_code.reuse_detected')[0], { clientId: 'client-a' });

  // token.revoked and grant.revoked at the revocation endpoint.
  const live = await codeFlow(gh.issuer, a, 'openid offline_access');
  secrets['revoked refresh token'] = live.tokens.refresh_token as string;
  await oidc.tokenRevocation(a, live.tokens.refresh_token as string);
  t.like(audit('token.revoked')[0], { clientId: 'client-a', sub, tokenType: 'RefreshToken' });
  t.like(audit('grant.revoked')[0], { clientId: 'client-a', sub, reason: 'revocation' });

  // client_auth.failure, joined to the request by the id the caller sent.
  const denied = await fetch(`${gh.issuer}/token`, {
    method: 'POST',
    headers: { ...FORM, authorization: basic('client-a', WRONG_SECRET), 'x-request-id': 'audit-client-auth' },
    body: 'grant_type=client_credentials',
  });
  t.is(denied.status, 401);
  t.like(audit('client_auth.failure')[0], { clientId: 'client-a', requestId: 'audit-client-auth' });

  // consent.denied.
  const denyUrl = oidc.buildAuthorizationUrl(b, { redirect_uri: REDIRECT, scope: 'openid', prompt: 'consent' });
  const { callback } = await loginThroughPages(denyUrl, gh.issuer, {
    username: 'demo',
    password: 'demo-password',
    consent: 'deny',
  });
  t.is(callback.searchParams.get('error'), 'access_denied');
  t.like(audit('consent.denied')[0], { clientId: 'client-b', sub });

  // consent.granted without a page for a first-party client.
  const spa = new URL('/auth', gh.issuer);
  spa.search = new URLSearchParams({
    client_id: 'public-c',
    response_type: 'code',
    scope: 'openid',
    redirect_uri: 'https://spa.example/cb',
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
  }).toString();
  const firstParty = await loginThroughPages(spa, gh.issuer, { username: 'demo', password: 'demo-password' });
  t.truthy(firstParty.callback.searchParams.get('code'));
  t.is(firstParty.pages.length, 1, 'only the sign-in page was shown');
  t.like(
    audit('consent.granted').find((l) => l.clientId === 'public-c'),
    { sub, reason: 'first_party' },
  );

  // logout: RP-initiated logout confirmed by the user.
  const jar = new CookieJar();
  const signedIn = await codeFlow(gh.issuer, a, 'openid');
  secrets['id token 2'] = signedIn.tokens.id_token as string;
  await loginThroughPages(oidc.buildAuthorizationUrl(a, { redirect_uri: REDIRECT, scope: 'openid' }), gh.issuer, {
    username: 'demo',
    password: 'demo-password',
    jar,
  });
  for (const pair of jar.header().split('; ')) {
    const name = defined(pair.split('=')[0], "pair.split('=')[0]");
    if (name === '_interaction' || name === '_interaction_resume') continue; // the interaction id is in page URLs by design
    secrets[`cookie ${name}`] = pair.slice(pair.indexOf('=') + 1);
  }
  const end = await request(
    `${gh.issuer}/session/end?id_token_hint=${encodeURIComponent(signedIn.tokens.id_token as string)}`,
    jar,
  );
  const html = await end.text();
  const xsrf = capture(/name="xsrf" value="([^"]+)"/, html);
  const action = capture(/action="([^"]+\/session\/end\/confirm)"/, html);
  t.truthy(xsrf && action);
  const done = await request(new URL(action, gh.issuer).toString(), jar, {
    method: 'POST',
    headers: { ...FORM, origin: gh.issuer },
    body: new URLSearchParams({ xsrf, logout: 'yes' }).toString(),
  });
  t.true(done.status === 303 || done.status === 200, `logout answered ${done.status}`);
  t.like(audit('logout')[0], { clientId: 'client-a', sub });

  // Every audit line: a known event, a request id, only the allowed fields.
  const lines = gh.logs.filter((l) => typeof l.audit === 'string');
  const events = new Set(lines.map((l) => l.audit));
  for (const e of [
    'login.failure',
    'login.locked',
    'login.success',
    'consent.granted',
    'consent.denied',
    'token.issued',
    'token.refreshed',
    'token.revoked',
    'refresh_token.reuse_detected',
    'authorization_code.reuse_detected',
    'grant.revoked',
    'logout',
    'client_auth.failure',
  ]) {
    t.true(events.has(e), `${e} was audited`);
  }
  const allowed = new Set([
    'level',
    'time',
    'service',
    'msg',
    'audit',
    'requestId',
    'clientId',
    'sub',
    'reason',
    'kind',
    'grantType',
    'tokenType',
    'ip',
  ]);
  for (const line of lines) {
    t.regex(String(line.requestId), /^[A-Za-z0-9._:-]{1,128}$/, `${line.audit} has a request id`);
    t.is(line.msg, line.audit);
    t.deepEqual(
      Object.keys(line).filter((k) => !allowed.has(k)),
      [],
      `${line.audit} has only audit fields`,
    );
  }
  // The request id of an audit line is the one of its request's access-log line.
  const reqIds = new Set(gh.logs.filter((l) => l.msg === 'request').map((l) => l.reqId));
  for (const line of lines) t.true(reqIds.has(line.requestId), `${line.audit} joins an access-log line`);

  t.true(Object.keys(secrets).filter((k) => k.startsWith('cookie')).length >= 2, 'session cookies were collected');
  t.deepEqual(findLeaks(gh.logs, secrets), []);
});

test('a reuse caught by the store (a race lost in its atomic consume) is one audit line in the losing request', async (t) => {
  const redis = await startRedis(t);
  const gh = await startGatehouse(t, {
    clients: CLIENTS,
    'refreshTokens.reuseIntervalSeconds': 0,
    'redis.url': redis.url,
    'redis.keyPrefix': `a${process.pid}:`,
  });
  await gh.gatehouse.accounts.create({ username: 'demo', password: 'demo-password', roles: ['user'] });
  const a = await rp(gh.issuer, 'client-a');
  const caughtIn: string[] = [];
  gh.gatehouse.store.onReuse(() => caughtIn.push(currentScope()?.requestId ?? 'none'));
  // Several races, until the store (not oidc-provider's consumed check) has caught at least one.
  for (let round = 0; round < 10 && caughtIn.length === 0; round++) {
    const { tokens } = await codeFlow(gh.issuer, a, 'openid offline_access');
    await Promise.allSettled(
      Array.from({ length: 10 }, () => oidc.refreshTokenGrant(a, tokens.refresh_token as string)),
    );
  }
  t.true(caughtIn.length > 0, 'the store caught a race');
  for (const requestId of caughtIn) {
    const lines = gh.logs.filter((l) => l.audit && l.requestId === requestId);
    t.deepEqual(
      lines.map((l) => l.audit),
      ['refresh_token.reuse_detected'],
      'one line, in the request that lost',
    );
    t.like(lines[0], { clientId: 'client-a' });
  }
  t.false(gh.logs.some((l) => l.audit === 'token_family.revoked' || l.audit === 'grant.revoked'));
});
