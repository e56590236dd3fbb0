/**
 * Gatehouse is stateless on Redis: two instances on one Redis serve the same users (a token from one refreshes
 * at the other, logout at one ends the session at the other). And a Redis outage while requests run: only 503
 * temporarily_unavailable (with Retry-After) while Redis is down, never a 500; service resumes by itself.
 */
import test from 'ava';
import * as oidc from 'openid-client';
import { CookieJar, loginThroughPages, request } from '../helpers/browserless-login.ts';
import { startRedis } from '../helpers/redis.ts';
import {
  authorize,
  discover,
  exchangeCode,
  REDIRECT,
  refresh,
  sharedSettings,
  startRedisGatehouse,
  tokenRequest,
} from './redis-gatehouse.ts';
import { capture } from '../helpers/defined.ts';

test('two instances on one Redis: refresh at the other, logout at one ends the session at the other', async (t) => {
  const redis = await startRedis(t);
  const shared = await sharedSettings();
  const a = await startRedisGatehouse(t, redis.url, shared);
  const b = await startRedisGatehouse(t, redis.url, shared);
  const configA = await discover(a);
  const { code, verifier, jar } = await authorize(a, configA);
  const issued = await exchangeCode(a.issuer, code, verifier);
  t.is(issued.status, 200);
  const atB = await refresh(b.issuer, issued.body.refresh_token as string);
  t.is(atB.status, 200, 'a refresh token issued by A refreshes at B');
  const backAtA = await refresh(a.issuer, atB.body.refresh_token as string);
  t.is(backAtA.status, 200, 'and B’s successor at A');

  // The browser's session cookie from A is good at B (shared cookie keys, shared session store): log out at B.
  // Both instances have the same issuer-independent cookie names; the jar is keyed by name only.
  const end = await request(new URL('/session/end', b.issuer).toString(), jar);
  t.is(end.status, 200);
  const html = await end.text();
  const action = capture(/action="([^"]+\/session\/end\/confirm)"/, html);
  const xsrf = capture(/name="xsrf" value="([^"]+)"/, html);
  t.truthy(action && xsrf, 'B shows the logout confirmation for the session A created');
  const done = await request(new URL(action, b.issuer).toString(), jar, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ xsrf, logout: 'yes' }).toString(),
  });
  t.true(done.status === 303 || done.status === 200, `logout answered ${done.status}`);

  const none = oidc.buildAuthorizationUrl(configA, { redirect_uri: REDIRECT, scope: 'openid', prompt: 'none' });
  const { callback } = await loginThroughPages(none, a.issuer, { username: 'x', password: 'y', jar });
  t.is(callback.searchParams.get('error'), 'login_required', 'A no longer knows the session');
});

test('Redis stopped and restarted while requests run: 503 during the outage, recovery without restart', async (t) => {
  const redis = await startRedis(t);
  const gh = await startRedisGatehouse(t, redis.url, await sharedSettings());
  const config = await discover(gh);
  const { code, verifier } = await authorize(gh, config);
  const issued = await exchangeCode(gh.issuer, code, verifier);
  t.is(issued.status, 200);

  // Every request here touches storage: a client_credentials grant stores an opaque token, a refresh reads and
  // writes the family, /readyz pings.
  const probe = async () => {
    const [cc, rt, ready] = await Promise.all([
      tokenRequest(gh.issuer, { grant_type: 'client_credentials' }),
      refresh(gh.issuer, issued.body.refresh_token as string),
      fetch(new URL('/readyz', gh.issuer)),
    ]);
    return { cc, rt, ready: { status: ready.status, body: (await ready.json()) as Record<string, unknown> } };
  };

  // A sign-in started before the outage: its interaction page must answer 503 while Redis is away.
  const jar = new CookieJar();
  const started = await request(
    oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid' }).toString(),
    jar,
  );
  const interaction = new URL(started.headers.get('location') as string, gh.issuer).toString();
  t.regex(interaction, /\/interaction\//);

  const before = await probe();
  t.is(before.cc.status, 200);
  t.is(before.ready.status, 200);

  let stop = false;
  const statuses: number[] = [];
  const bodies = new Set<string>();
  // Redis comes back only after the background requests have met the outage at least once: a request in flight
  // when Redis stops may be answered after it restarts, so the outage must outlast it.
  const { promise: outageSeen, resolve: sawOutage } = Promise.withResolvers<void>();
  const background = (async () => {
    while (!stop) {
      const r = await tokenRequest(gh.issuer, { grant_type: 'client_credentials' });
      statuses.push(r.status);
      if (r.status !== 200) {
        bodies.add(JSON.stringify({ status: r.status, error: r.body.error, retryAfter: r.headers.get('retry-after') }));
        sawOutage();
      }
    }
  })();

  await redis.stop();
  const during = await probe();
  for (const [name, r] of [
    ['client_credentials', during.cc],
    ['refresh', during.rt],
  ] as const) {
    t.is(r.status, 503, name);
    t.is(r.body.error, 'temporarily_unavailable', name);
    t.truthy(r.headers.get('retry-after'), `${name} Retry-After`);
  }
  t.is(during.ready.status, 503);
  t.is(during.ready.body.storage, 'unavailable');
  // An authorization request during the outage: never a 500 (the provider redirects the error to the client).
  const auth = await fetch(oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid' }), {
    redirect: 'manual',
    headers: { accept: 'text/html' },
  });
  t.not(auth.status, 500);
  // Either the provider redirects the error to the client, or Gatehouse answers 503 itself.
  const redirected =
    auth.status === 303 ? new URL(auth.headers.get('location') as string).searchParams.get('error') : null;
  t.true(
    (auth.status === 303 && redirected === 'temporarily_unavailable') || auth.status === 503,
    `authorization during the outage: ${auth.status} ${redirected}`,
  );

  const page = await request(interaction, jar);
  t.is(page.status, 503, 'the sign-in page says storage is unavailable');
  t.truthy(page.headers.get('retry-after'));
  const login = await request(`${interaction}/login`, jar, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: gh.issuer },
    body: new URLSearchParams({ username: 'alice', password: 'whatever-password' }).toString(),
  });
  t.is(login.status, 503, 'and so does the sign-in form');

  await outageSeen;
  await redis.restart();
  const deadline = Date.now() + 10_000;
  let after = await probe();
  while (after.cc.status !== 200 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    after = await probe();
  }
  stop = true;
  await background;
  t.is(after.cc.status, 200, 'client_credentials works again without restarting Gatehouse');
  t.is(after.ready.status, 200);
  t.deepEqual([...new Set(statuses)].sort(), [200, 503], 'only 200 and 503 while Redis went away and came back');
  for (const b of bodies)
    t.deepEqual(JSON.parse(b), { status: 503, error: 'temporarily_unavailable', retryAfter: '2' });
  t.false(
    gh.logs.some((l) => l.msg === 'provider server_error'),
    'no server_error',
  );
});
