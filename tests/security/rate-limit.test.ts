/**
 * Rate limits on token, introspection and revocation: per IP (IPv6 by /64) and per client, 429 + Retry-After +
 * OAuth error JSON; a client named without its secret — a 401 or a 400 before authentication — does not use up
 * that client's allowance (memory store and Redis); a public client is counted per client and IP; every 429 is
 * counted in /metrics by registered client; the form body the limiter reads still reaches oidc-provider intact.
 */
import test, { type ExecutionContext } from 'ava';
import defaults from '../../config/default.json' with { type: 'json' };
import { startGatehouse } from '../helpers/gatehouse.ts';
import { startRedis } from '../helpers/redis.ts';
import { parseExposition, sampleSum } from '../operations/prometheus-text.ts';
import { basic, CLIENTS, FORM, SECRET_A, SECRET_B, SPA_AUTH_PARAMS } from './fixtures.ts';

const cc = 'grant_type=client_credentials';
const A = { authorization: basic('client-a', SECRET_A) };

/** A Gatehouse with the test clients and these token-endpoint limits over a one-hour window. */
function limitedGatehouse(
  t: ExecutionContext,
  limits: { perClient: number; perIp: number; trustProxy?: boolean },
  settings: Record<string, unknown> = {},
) {
  return startGatehouse(t, {
    clients: CLIENTS,
    ...(limits.trustProxy ? { trustProxy: true } : {}),
    'rateLimit.perClient': limits.perClient,
    'rateLimit.perIp': limits.perIp,
    'rateLimit.windowSeconds': 3600,
    ...settings,
  });
}

async function post(issuer: string, path: string, headers: Record<string, string>, body: string) {
  const res = await fetch(`${issuer}${path}`, { method: 'POST', headers: { ...FORM, ...headers }, body });
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    cache: res.headers.get('cache-control'),
    body: JSON.parse((await res.text()) || '{}') as Record<string, unknown>,
  };
}

// On Redis the counters travel in the request's prefetch script (src/storage/redis/adapter.ts withHits); the
// limits must hold exactly as with the memory store.
for (const store of ['memory', 'redis'] as const) {
  test(`${store}: per client: the limit applies across token, introspection and revocation; 429 with Retry-After and OAuth JSON`, async (t) => {
    const redis = store === 'redis' ? await startRedis(t) : undefined;
    const gh = await limitedGatehouse(
      t,
      { perClient: 4, perIp: 1000 },
      redis ? { 'redis.url': redis.url, 'demo.seed': false } : {},
    );
    t.is((await post(gh.issuer, '/token', A, cc)).status, 200);
    t.is((await post(gh.issuer, '/token/introspection', A, 'token=x')).status, 200);
    t.is((await post(gh.issuer, '/token/revocation', A, 'token=x')).status, 200);
    t.is((await post(gh.issuer, '/token', A, cc)).status, 200);
    const limited = await post(gh.issuer, '/token', A, cc);
    t.is(limited.status, 429);
    t.is(limited.body.error, 'temporarily_unavailable');
    t.regex(String(limited.body.error_description), /too many requests/);
    const retry = Number(limited.retryAfter);
    t.true(retry >= 1 && retry <= 3600, `Retry-After ${limited.retryAfter}`);
    t.is(limited.cache, 'no-store');
    t.is((await post(gh.issuer, '/token/introspection', A, 'token=x')).status, 429);
    // Another client from the same IP is not affected.
    t.is((await post(gh.issuer, '/token', { authorization: basic('client-b', SECRET_B) }, cc)).status, 200);
    t.true(gh.logs.some((l) => l.audit === 'rate_limit.exceeded' && l.kind === 'client'));
  });
}

test('per client, client_id in the form: the body still reaches the provider, and wrong credentials do not count', async (t) => {
  const gh = await startGatehouse(t, {
    clients: [
      ...CLIENTS,
      {
        client_id: 'post-client',
        client_secret: SECRET_A,
        token_endpoint_auth_method: 'client_secret_post',
        redirect_uris: ['https://p.example/cb'],
        grant_types: ['client_credentials'],
      },
    ],
    'rateLimit.perClient': 3,
    'rateLimit.perIp': 1000,
    'rateLimit.windowSeconds': 3600,
  });
  // Someone who only knows the client id tries 10 times: 401 each time, and the real client is not locked out.
  for (let i = 0; i < 10; i++) {
    const r = await post(gh.issuer, '/token', {}, `${cc}&client_id=post-client&client_secret=wrong-${i}`);
    t.is(r.status, 401);
    t.is(r.body.error, 'invalid_client');
  }
  for (let i = 0; i < 3; i++) {
    const ok = await post(gh.issuer, '/token', {}, `${cc}&client_id=post-client&client_secret=${SECRET_A}`);
    t.is(ok.status, 200, JSON.stringify(ok.body));
    t.truthy(ok.body.access_token);
  }
  const limited = await post(gh.issuer, '/token', {}, `${cc}&client_id=post-client&client_secret=${SECRET_A}`);
  t.is(limited.status, 429);
  t.truthy(limited.retryAfter);
  // A public client's client_id in the form is counted the same way.
  for (let i = 0; i < 3; i++)
    t.is((await post(gh.issuer, '/token/introspection', {}, 'client_id=public-c&token=x')).status, 200);
  t.is((await post(gh.issuer, '/token/introspection', {}, 'client_id=public-c&token=x')).status, 429);
});

for (const store of ['memory', 'redis'] as const) {
  test(`${store}: per IP: every request counts, whatever the client; X-Forwarded-For is ignored without trustProxy`, async (t) => {
    const redis = store === 'redis' ? await startRedis(t) : undefined;
    const gh = await limitedGatehouse(
      t,
      { perClient: 0, perIp: 5 },
      redis ? { 'redis.url': redis.url, 'demo.seed': false } : {},
    );
    for (let i = 0; i < 5; i++) {
      const who = i % 2 ? basic('client-a', SECRET_A) : basic('client-b', 'wrong');
      t.not(
        (await post(gh.issuer, '/token', { authorization: who, 'x-forwarded-for': `10.0.0.${i}` }, cc)).status,
        429,
      );
    }
    const limited = await post(
      gh.issuer,
      '/token/revocation',
      { authorization: basic('client-a', SECRET_A), 'x-forwarded-for': '10.9.9.9' },
      'token=x',
    );
    t.is(limited.status, 429);
    t.truthy(limited.retryAfter);
    // Nothing else is limited: discovery and the authorization endpoint still answer.
    t.is((await fetch(`${gh.issuer}/.well-known/openid-configuration`)).status, 200);
    t.true(gh.logs.some((l) => l.audit === 'rate_limit.exceeded' && l.kind === 'ip'));
  });
}

test('per IP with trustProxy: each forwarded client IP has its own allowance (the last X-Forwarded-For entry)', async (t) => {
  const gh = await limitedGatehouse(t, { perClient: 0, perIp: 2, trustProxy: true });
  for (const ip of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) {
    t.is((await post(gh.issuer, '/token', { ...A, 'x-forwarded-for': ip }, cc)).status, 200);
    t.is((await post(gh.issuer, '/token', { ...A, 'x-forwarded-for': ip }, cc)).status, 200);
  }
  // A client that prepends a forged address is still counted under the address the proxy appended.
  t.is((await post(gh.issuer, '/token', { ...A, 'x-forwarded-for': '1.2.3.4, 10.0.0.1' }, cc)).status, 429);
});

const b64 = (s: string) => Buffer.from(s).toString('base64');

for (const store of ['memory', 'redis'] as const) {
  test(`${store}: requests that fail client authentication, with a 400 or a 401, do not use up the named client's allowance`, async (t) => {
    const redis = store === 'redis' ? await startRedis(t) : undefined;
    const gh = await startGatehouse(t, {
      clients: CLIENTS,
      'rateLimit.perClient': 5,
      'rateLimit.perIp': 1000,
      'rateLimit.windowSeconds': 3600,
      ...(redis ? { 'redis.url': redis.url, 'demo.seed': false } : {}),
    });
    const refused = [
      // Basic with an empty secret: refused before the provider even looks the client up.
      {
        headers: { authorization: `Basic ${b64('client-a:')}` },
        body: cc,
        status: 400,
        description: /client_secret must be provided/,
      },
      // Two authentication mechanisms at once.
      {
        headers: { authorization: basic('client-a', SECRET_A) },
        body: `${cc}&client_secret=${SECRET_A}`,
        status: 400,
        description: /only be provided using one mechanism/,
      },
      // A wrong secret.
      { headers: { authorization: basic('client-a', 'wrong') }, body: cc, status: 401, description: /.*/ },
    ];
    for (const r of refused) {
      for (let i = 0; i < 6; i++) {
        const res = await post(gh.issuer, '/token', r.headers, r.body);
        t.is(res.status, r.status, JSON.stringify(res.body));
        t.regex(String(res.body.error_description ?? res.body.error), r.description);
      }
    }
    for (let i = 0; i < 5; i++)
      t.is((await post(gh.issuer, '/token', A, cc)).status, 200, `the real client's request ${i + 1}`);
    t.is((await post(gh.issuer, '/token', A, cc)).status, 429, 'the real client still has its limit');
  });
}

test('a public client is counted per client and IP: one address using up its allowance leaves the others theirs', async (t) => {
  const gh = await limitedGatehouse(t, { perClient: 3, perIp: 1000, trustProxy: true });
  const from = (ip: string) =>
    post(gh.issuer, '/token/introspection', { 'x-forwarded-for': ip }, 'client_id=public-c&token=x');
  for (let i = 0; i < 3; i++) t.is((await from('10.0.0.1')).status, 200);
  t.is((await from('10.0.0.1')).status, 429);
  t.is((await from('10.0.0.2')).status, 200, "another address still has the public client's allowance");
});

test('per IP, IPv6 addresses are counted by /64', async (t) => {
  const gh = await limitedGatehouse(t, { perClient: 0, perIp: 2, trustProxy: true });
  t.is((await post(gh.issuer, '/token', { ...A, 'x-forwarded-for': '2001:db8:1:2::1' }, cc)).status, 200);
  t.is(
    (await post(gh.issuer, '/token', { ...A, 'x-forwarded-for': '2001:db8:1:2:ffff:ffff:ffff:fffe' }, cc)).status,
    200,
  );
  t.is(
    (await post(gh.issuer, '/token', { ...A, 'x-forwarded-for': '2001:db8:1:2:aaaa::7' }, cc)).status,
    429,
    'the same /64',
  );
  t.is(
    (await post(gh.issuer, '/token', { ...A, 'x-forwarded-for': '2001:db8:1:3::1' }, cc)).status,
    200,
    'the next /64',
  );
});

test('every 429 shows in /metrics by registered client; an unregistered client id is never a label', async (t) => {
  const gh = await limitedGatehouse(t, { perClient: 1, perIp: 3, trustProxy: true });
  const a = { ...A, 'x-forwarded-for': '10.1.0.1' };
  t.is((await post(gh.issuer, '/token', a, cc)).status, 200);
  t.is((await post(gh.issuer, '/token', a, cc)).status, 429);
  t.is((await post(gh.issuer, '/token', a, cc)).status, 429);
  // Over the IP limit, naming a client that does not exist.
  const ghost = { authorization: basic('no-such-client-4711', 'x'), 'x-forwarded-for': '10.1.0.2' };
  for (let i = 0; i < 3; i++) t.is((await post(gh.issuer, '/token', ghost, cc)).status, 401);
  t.is((await post(gh.issuer, '/token', ghost, cc)).status, 429);
  const res = await fetch(`${gh.issuer}/metrics`);
  const text = await res.text();
  const families = parseExposition(text);
  t.is(sampleSum(families, 'gatehouse_rate_limited_total', { limit: 'client', client_id: 'client-a' }), 2);
  t.is(sampleSum(families, 'gatehouse_rate_limited_total', { limit: 'ip', client_id: 'unknown' }), 1);
  t.false(text.includes('no-such-client-4711'));
  t.true(gh.logs.some((l) => l.audit === 'rate_limit.exceeded' && l.kind === 'client' && l.clientId === 'client-a'));
  t.false(gh.logs.some((l) => l.audit === 'rate_limit.exceeded' && l.clientId === 'no-such-client-4711'));
});

test('the default limits carry one backend refreshing for a million users on 15-minute access tokens, at twice the average', (t) => {
  const { windowSeconds, perClient, perIp } = defaults.rateLimit;
  const peakPerSecond = (2 * 1_000_000) / defaults.ttl.accessToken;
  t.true(
    perClient / windowSeconds >= peakPerSecond,
    `per client ${perClient / windowSeconds}/s, needed ${peakPerSecond}/s`,
  );
  t.true(perIp >= 2 * perClient, 'an IP carries at least two such clients');
});

test('per IP on the browser endpoints: /auth, /session/end and sign-in POSTs share one allowance; PAR has its own', async (t) => {
  const gh = await startGatehouse(t, {
    clients: CLIENTS,
    trustProxy: true,
    'rateLimit.browserPerIp': 4,
    'rateLimit.parPerIp': 2,
    'rateLimit.windowSeconds': 3600,
  });
  const spa = new URLSearchParams(SPA_AUTH_PARAMS);
  const from = (ip: string, extra: Record<string, string> = {}) => ({
    redirect: 'manual' as const,
    headers: { 'x-forwarded-for': ip, ...extra },
  });
  t.is((await fetch(`${gh.issuer}/auth?${spa}`, from('10.40.0.1'))).status, 303);
  t.is((await fetch(`${gh.issuer}/session/end`, from('10.40.0.1'))).status, 200);
  t.is((await fetch(`${gh.issuer}/auth?${spa}`, from('10.40.0.1'))).status, 303);
  t.is((await fetch(`${gh.issuer}/session/end`, from('10.40.0.1'))).status, 200);
  const limited = await fetch(`${gh.issuer}/auth?${spa}`, from('10.40.0.1', { accept: 'text/html' }));
  t.is(limited.status, 429);
  t.truthy(limited.headers.get('retry-after'));
  t.regex(await limited.text(), /temporarily_unavailable/, 'a browser gets the error page');
  t.is(
    (await fetch(`${gh.issuer}/interaction/abcdef/login`, { ...from('10.40.0.1'), method: 'POST' })).status,
    429,
    'sign-in POSTs share it',
  );
  t.is((await fetch(`${gh.issuer}/auth?${spa}`, from('10.40.0.2'))).status, 303, 'another address has its own');
  // Pages that store nothing are not limited.
  t.is((await fetch(`${gh.issuer}/.well-known/openid-configuration`, from('10.40.0.1'))).status, 200);

  const par = (ip: string) =>
    fetch(`${gh.issuer}/request`, {
      method: 'POST',
      headers: { ...FORM, 'x-forwarded-for': ip },
      body: spa.toString(),
    });
  t.is((await par('10.40.0.1')).status, 201, 'PAR does not draw on the browser allowance');
  t.is((await par('10.40.0.1')).status, 201);
  t.is((await par('10.40.0.1')).status, 429);
  t.true(gh.logs.some((l) => l.audit === 'rate_limit.exceeded' && l.kind === 'browser'));
  t.true(gh.logs.some((l) => l.audit === 'rate_limit.exceeded' && l.kind === 'par'));
});
