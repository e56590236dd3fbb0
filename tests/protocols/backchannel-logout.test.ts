/**
 * Back-channel logout (OpenID Connect Back-Channel Logout 1.0) with a real relying party: an HTTP server on a
 * free port that receives the logout token and checks it against Gatehouse's JWKS. Triggers: RP-initiated logout
 * and reuse detection; a relying party that is down gets retries while the logout page answers without waiting;
 * loopback URIs are refused unless allowed (SSRF), at registration and at delivery.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { lookup } from 'node:dns/promises';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import test, { type ExecutionContext } from 'ava';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { waitFor } from '../../bench/lib/processes.ts';
import { isSpecialAddress, LOGOUT_EVENT } from '../../src/provider/backchannel-logout.ts';
import { type CookieJar, loginThroughPages, request, discoverClient } from '../helpers/browserless-login.ts';
import { startGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';
import { startRedis } from '../helpers/redis.ts';
import { capture } from '../helpers/defined.ts';

const SECRET = 'rp-secret-that-is-long-enough-0123456789abcdef';
const REDIRECT = 'https://rp.example/cb';

interface Arrival {
  token: string;
  /** Answer the relying party's response with this status (default 200). */
  answer(status?: number): void;
}

/** A relying party's back-channel endpoint: each POST waits in `arrivals` until the test answers it. */
async function relyingParty(t: ExecutionContext) {
  const waiting: Array<(a: Arrival) => void> = [];
  const queued: Arrival[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const arrival: Arrival = {
        token: new URLSearchParams(body).get('logout_token') ?? '',
        answer: (status = 200) => {
          res.writeHead(status).end();
        },
      };
      const next = waiting.shift();
      if (next) next(arrival);
      else queued.push(arrival);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return {
    uri: `http://127.0.0.1:${(server.address() as AddressInfo).port}/backchannel`,
    next: () =>
      new Promise<Arrival>((resolve) =>
        queued.length > 0 ? resolve(queued.shift() as Arrival) : waiting.push(resolve),
      ),
  };
}

async function setup(t: ExecutionContext, overrides: Record<string, unknown> = {}) {
  const rp = await relyingParty(t);
  const gh = await startGatehouse(t, {
    'backchannelLogout.allowPrivateNetworks': true,
    'backchannelLogout.retryBaseSeconds': 1,
    clients: [
      {
        client_id: 'rp',
        client_secret: SECRET,
        redirect_uris: [REDIRECT],
        post_logout_redirect_uris: ['https://rp.example/bye'],
        grant_types: ['authorization_code', 'refresh_token'],
        backchannel_logout_uri: rp.uri,
        backchannel_logout_session_required: true,
        first_party: true,
      },
    ],
    ...overrides,
  });
  const config = await discoverClient(gh.issuer, 'rp', SECRET);
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope: 'openid offline_access',
    prompt: 'consent',
  });
  const { callback, jar } = await loginThroughPages(url, gh.issuer, { username: 'demo', password: 'demo-password' });
  const tokens = await oidc.authorizationCodeGrant(config, callback);
  return { gh, rp, config, tokens, jar };
}

async function logout(gh: TestGatehouse, jar: CookieJar): Promise<Response> {
  const page = await request(`${gh.issuer}/session/end`, jar);
  const html = await page.text();
  const xsrf = capture(/name="xsrf" value="([^"]+)"/, html);
  return request(`${gh.issuer}/session/end/confirm`, jar, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ xsrf, logout: 'yes' }).toString(),
  });
}

/** The first log line matching `match`, once the instance has written it (polled: log lines are not events). */
async function until(
  gh: TestGatehouse,
  match: (line: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
  let line: Record<string, unknown> | undefined;
  await waitFor(() => {
    line = gh.logs.find(match);
    return line !== undefined;
  }, 'a matching log line');
  return line as Record<string, unknown>;
}

async function verifyLogoutToken(gh: TestGatehouse, token: string) {
  const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${gh.issuer}/jwks`)), {
    issuer: gh.issuer,
    audience: 'rp',
    typ: 'logout+jwt',
  });
  return payload;
}

test('discovery advertises back-channel logout with sessions', async (t) => {
  const gh = await startGatehouse(t);
  const meta = (await (await fetch(`${gh.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  t.is(meta.backchannel_logout_supported, true);
  t.is(meta.backchannel_logout_session_supported, true);
});

test('RP-initiated logout: the relying party receives a valid logout token', async (t) => {
  const { gh, rp, tokens, jar } = await setup(t);
  const done = await logout(gh, jar);
  t.true(done.status === 200 || done.status === 303);
  const arrival = await rp.next();
  arrival.answer(200);
  const claims = await verifyLogoutToken(gh, arrival.token);
  t.is(claims.sub, tokens.claims()?.sub);
  t.is(claims.sid, tokens.claims()?.sid, 'the sid of the ID token');
  t.truthy(claims.sid);
  t.deepEqual(claims.events, { [LOGOUT_EVENT]: {} });
  t.truthy(claims.jti);
  t.truthy(claims.iat);
  t.is(claims.nonce, undefined);
  t.is(decodeProtectedHeader(arrival.token).alg, 'RS256', "the client's ID token algorithm");
  t.like(await until(gh, (l) => l.audit === 'backchannel_logout.delivered'), { clientId: 'rp', attempts: '1' });
  t.false(JSON.stringify(gh.logs).includes(arrival.token), 'the logout token is not logged');
});

test('a relying party that does not answer does not hold up the logout page, and gets retries', async (t) => {
  const { gh, rp, jar } = await setup(t);
  const done = await logout(gh, jar);
  t.true(done.status === 200 || done.status === 303, 'the logout page answered');
  const first = await rp.next();
  // Answered only now, after the logout page: the page did not wait for it.
  first.answer(503);
  const second = await rp.next();
  second.answer(200);
  t.is((await verifyLogoutToken(gh, second.token)).sub, (await verifyLogoutToken(gh, first.token)).sub);
  t.not(second.token, first.token, 'every attempt carries a fresh token');
  await until(gh, (l) => l.audit === 'backchannel_logout.delivered');
  t.like(
    gh.logs.find((l) => l.audit === 'backchannel_logout.failed'),
    { clientId: 'rp', reason: 'answered 503', attempts: '1' },
  );
  const metrics = await (await fetch(`${gh.issuer}/metrics`)).text();
  t.regex(metrics, /gatehouse_backchannel_logouts_total\{outcome="failed"\} 1/);
  t.regex(metrics, /gatehouse_backchannel_logouts_total\{outcome="delivered"\} 1/);
});

test('reuse detection revoking a family sends a logout token for the user', async (t) => {
  const { gh, rp, config, tokens } = await setup(t, { 'refreshTokens.reuseIntervalSeconds': 0 });
  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token as string);
  t.truthy(refreshed.refresh_token);
  await t.throwsAsync(oidc.refreshTokenGrant(config, tokens.refresh_token as string));
  const arrival = await rp.next();
  arrival.answer(200);
  const claims = await verifyLogoutToken(gh, arrival.token);
  t.is(claims.sub, tokens.claims()?.sub);
  t.deepEqual(claims.events, { [LOGOUT_EVENT]: {} });
});

test('a back-channel URI on a loopback or private address is refused unless allowed', async (t) => {
  const gh = await startGatehouse(t, { 'clientRegistration.mode': 'open' });
  for (const uri of [
    'http://127.0.0.1:9/bcl',
    'http://localhost/bcl',
    'http://10.1.2.3/bcl',
    'http://[::1]/bcl',
    'http://169.254.169.254/latest',
    'http://[::ffff:127.0.0.1]/x',
    'ftp://rp.example/x',
  ]) {
    const res = await fetch(`${gh.issuer}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: [REDIRECT], backchannel_logout_uri: uri }),
    });
    t.is(res.status, 400, uri);
    t.is(((await res.json()) as { error: string }).error, 'invalid_client_metadata', uri);
  }
  const ok = await fetch(`${gh.issuer}/reg`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ redirect_uris: [REDIRECT], backchannel_logout_uri: 'https://rp.example/bcl' }),
  });
  t.is(ok.status, 201);

  const allowed = await startGatehouse(t, {
    'clientRegistration.mode': 'open',
    'backchannelLogout.allowPrivateNetworks': true,
  });
  const res = await fetch(`${allowed.issuer}/reg`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ redirect_uris: [REDIRECT], backchannel_logout_uri: 'http://127.0.0.1:9/bcl' }),
  });
  t.is(res.status, 201, 'BACKCHANNEL_ALLOW_PRIVATE_NETWORKS=true allows it');
});

test('at delivery, a name that resolves to a private address is refused', async (t) => {
  // The machine's own name passes the registration check (it is not an address literal) but resolves to a
  // loopback or private address: only the check at delivery stops it.
  const name = hostname();
  const addresses = await lookup(name, { all: true });
  t.true(
    addresses.length > 0 && addresses.every((a) => isSpecialAddress(a.address)),
    `precondition: ${name} resolves to private addresses only`,
  );
  const rp = await relyingParty(t);
  const gh = await startGatehouse(t, { 'backchannelLogout.retryBaseSeconds': 3600 });
  await gh.gatehouse.store.clients.save({
    client_id: 'inside',
    client_secret: SECRET,
    redirect_uris: [REDIRECT],
    backchannel_logout_uri: rp.uri.replace('127.0.0.1', name),
  });
  await gh.gatehouse.backchannel.notifyLogout([{ clientId: 'inside', sub: 'someone' }]);
  const outcome = await until(gh, (l) => typeof l.audit === 'string' && l.audit.startsWith('backchannel_logout.'));
  t.like(outcome, { audit: 'backchannel_logout.failed', clientId: 'inside', reason: 'private address refused' });
  t.true(
    isSpecialAddress('127.0.0.1') &&
      isSpecialAddress('::1') &&
      isSpecialAddress('::ffff:10.0.0.1') &&
      !isSpecialAddress('93.184.216.34'),
  );
});

test('the queue survives a restart: a notification left by one instance is delivered by the next (Redis)', async (t) => {
  const redis = await startRedis(t);
  const rp = await relyingParty(t);
  const shared = {
    'redis.url': redis.url,
    'backchannelLogout.allowPrivateNetworks': true,
    'backchannelLogout.retryBaseSeconds': 1,
  };
  const client = { client_id: 'rp', client_secret: SECRET, redirect_uris: [REDIRECT], backchannel_logout_uri: rp.uri };
  const first = await startGatehouse(undefined, { ...shared, clients: [client] });
  await first.gatehouse.backchannel.notifyLogout([{ clientId: 'rp', sub: 'user-1', sid: 'sid-1' }]);
  const attempt = await rp.next();
  // The first instance stops while its delivery is unanswered: the job stays in Redis.
  const stopping = first.gatehouse.close();
  attempt.answer(503);
  await stopping;
  first.server.closeAllConnections();
  first.server.close();

  const second = await startGatehouse(t, { ...shared, clients: [client] });
  const retry = await rp.next();
  retry.answer(200);
  const claims = await verifyLogoutToken(second, retry.token);
  t.like(claims, { sub: 'user-1', sid: 'sid-1' });
  t.like(await until(second, (l) => l.audit === 'backchannel_logout.delivered'), { clientId: 'rp', attempts: '2' });
});

test('the account center ending a session (sign out this device): the relying party receives a valid logout token', async (t) => {
  const { gh, rp, tokens, jar } = await setup(t);
  const sessionId = /(?:^|; )_session=([^;]+)/.exec(jar.header())?.[1];
  t.truthy(sessionId, 'the browser holds a Gatehouse session');
  const session = await gh.gatehouse.provider.Session.find(sessionId as string);
  const sub = tokens.claims()?.sub as string;
  t.is(session?.accountId, sub);
  const { endSessions } = await import('../../src/account/sessions.ts');
  const ended = await endSessions(
    {
      provider: gh.gatehouse.provider,
      index: gh.gatehouse.store.sessionIndex,
      ttlSeconds: 3600,
      audit: () => {},
      notifyLogout: gh.gatehouse.backchannel.notifyLogout,
    },
    sub,
    [session?.uid as string],
    'device_signout',
  );
  t.is(ended, 1);
  const arrival = await rp.next();
  arrival.answer(200);
  const claims = await verifyLogoutToken(gh, arrival.token);
  t.is(claims.sub, sub);
  t.is(claims.sid, tokens.claims()?.sid);
  t.deepEqual(claims.events, { [LOGOUT_EVENT]: {} });
});
