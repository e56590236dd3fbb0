/**
 * /metrics: the exposition parses line by line (tests/operations/prometheus-text.ts, a strict parser of the
 * text format), and the values move with real traffic — a sign-in, a code exchange, a refresh, a failed
 * sign-in, a lock, a refresh-token reuse, storage calls and a Redis outage. Also: bearer protection, turning it
 * off, and two instances in one process keeping separate registries.
 */
import test from 'ava';
import * as oidc from 'openid-client';
import { Gauge } from 'prom-client';
import { loginThroughPages } from '../helpers/browserless-login.ts';
import { startGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';
import { startRedis } from '../helpers/redis.ts';
import { CLIENTS, codeFlow, REDIRECT, rp } from '../security/fixtures.ts';
import { openLoginPage } from '../security/login-client.ts';
import { type Family, parseExposition, sampleSum } from './prometheus-text.ts';

async function scrape(gh: TestGatehouse, headers: Record<string, string> = {}): Promise<Map<string, Family>> {
  const res = await fetch(`${gh.issuer}/metrics`, { headers });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  if (!res.headers.get('content-type')?.startsWith('text/plain; version=0.0.4'))
    throw new Error(`content-type ${res.headers.get('content-type')}`);
  return parseExposition(await res.text());
}

test('the exposition parses and moves after a sign-in, a code exchange, a refresh, a failure, a lock and a reuse', async (t) => {
  const gh = await startGatehouse(t, {
    clients: CLIENTS,
    'refreshTokens.reuseIntervalSeconds': 0,
    'loginThrottle.maxFailures': 2,
  });
  const before = await scrape(gh);
  t.is(sampleSum(before, 'gatehouse_tokens_issued_total'), 0);
  for (const name of [
    'gatehouse_http_requests_total',
    'gatehouse_http_request_duration_seconds',
    'gatehouse_tokens_issued_total',
    'gatehouse_login_failures_total',
    'gatehouse_login_lockouts_total',
    'gatehouse_token_reuse_detected_total',
    'gatehouse_storage_operation_duration_seconds',
    'gatehouse_storage_errors_total',
    'nodejs_eventloop_lag_seconds',
    'process_cpu_user_seconds_total',
    'process_resident_memory_bytes',
  ]) {
    t.true(before.has(name), `${name} is exposed`);
  }
  t.is(before.get('gatehouse_http_request_duration_seconds')?.type, 'histogram');
  t.is(before.get('gatehouse_tokens_issued_total')?.type, 'counter');

  const a = await rp(gh.issuer, 'client-a');
  const { tokens } = await codeFlow(gh.issuer, a);
  const refreshed = await oidc.refreshTokenGrant(a, tokens.refresh_token as string);
  await t.throwsAsync(oidc.refreshTokenGrant(a, tokens.refresh_token as string), undefined, 'the replay is refused');
  const url = oidc.buildAuthorizationUrl(a, { redirect_uri: REDIRECT, scope: 'openid' });
  for (let i = 0; i < 2; i++)
    await t.throwsAsync(loginThroughPages(url, gh.issuer, { username: 'demo', password: 'not-the-password' }));

  const after = await scrape(gh);
  t.is(sampleSum(after, 'gatehouse_tokens_issued_total', { grant_type: 'authorization_code' }), 1);
  t.is(sampleSum(after, 'gatehouse_tokens_issued_total', { grant_type: 'refresh_token' }), 1);
  t.is(sampleSum(after, 'gatehouse_token_reuse_detected_total', { token: 'refresh_token' }), 1);
  t.is(sampleSum(after, 'gatehouse_login_failures_total'), 2);
  t.is(sampleSum(after, 'gatehouse_login_lockouts_total', { kind: 'user' }), 1);
  // Token requests: the exchange and the refresh answered 200, the replay 400, all under the route name `token`.
  t.is(sampleSum(after, 'gatehouse_http_requests_total', { route: 'token', method: 'POST', status: '200' }), 2);
  t.is(sampleSum(after, 'gatehouse_http_requests_total', { route: 'token', method: 'POST', status: '400' }), 1);
  t.is(sampleSum(after, 'gatehouse_http_request_duration_seconds_count', { route: 'token', status: '200' }), 2);
  t.true(sampleSum(after, 'gatehouse_http_requests_total', { route: 'authorization' }) >= 1);
  t.true(sampleSum(after, 'gatehouse_http_requests_total', { route: 'interaction_login', status: '401' }) >= 2);
  t.true(sampleSum(after, 'gatehouse_http_requests_total', { route: 'discovery', status: '200' }) >= 1);
  // Storage calls are timed per operation; the memory store never fails.
  t.true(
    sampleSum(after, 'gatehouse_storage_operation_duration_seconds_count', { operation: 'RefreshToken.consume' }) >= 1,
  );
  t.true(
    sampleSum(after, 'gatehouse_storage_operation_duration_seconds_count', { operation: 'accounts.findByUsername' }) >=
      3,
  );
  t.is(sampleSum(after, 'gatehouse_storage_errors_total'), 0);
  t.truthy(refreshed.access_token);

  // Route labels are names, never raw paths with ids (interaction uids, the /metrics scrape itself is `metrics`).
  const routes = new Set(after.get('gatehouse_http_requests_total')?.samples.map((s) => s.labels.route));
  for (const route of routes) t.regex(route as string, /^[a-z_]+$/, `route label ${route}`);
  t.true(routes.has('metrics'));
});

test('Redis errors and latency are counted per operation; two instances in one process keep separate registries', async (t) => {
  const redis = await startRedis(t);
  const one = await startGatehouse(t, { 'redis.url': redis.url, 'redis.keyPrefix': `m${process.pid}a:` });
  const two = await startGatehouse(t, { 'redis.url': redis.url, 'redis.keyPrefix': `m${process.pid}b:` });
  t.is((await fetch(`${one.issuer}/readyz`)).status, 200);
  const healthy = await scrape(one);
  t.true(sampleSum(healthy, 'gatehouse_storage_operation_duration_seconds_count', { operation: 'storage.ping' }) >= 1);
  t.is(sampleSum(healthy, 'gatehouse_storage_errors_total'), 0);
  t.is(
    sampleSum(await scrape(two), 'gatehouse_storage_operation_duration_seconds_count', { operation: 'storage.ping' }),
    0,
    'instance two counted nothing of instance one',
  );

  await redis.stop();
  t.is((await fetch(`${one.issuer}/readyz`)).status, 503);
  const down = await scrape(one);
  t.true(sampleSum(down, 'gatehouse_storage_errors_total', { operation: 'storage.ping' }) >= 1);
  t.is(sampleSum(await scrape(two), 'gatehouse_storage_errors_total'), 0);
});

test('METRICS_TOKEN: no or wrong bearer token gets 401, the right one 200; metrics can be turned off', async (t) => {
  const token = 'metrics-token-for-the-test-0123456789abcdef';
  const gh = await startGatehouse(t, {}, { METRICS_TOKEN: token });
  const none = await fetch(`${gh.issuer}/metrics`, { headers: { accept: 'application/json' } });
  t.is(none.status, 401);
  t.regex(none.headers.get('www-authenticate') ?? '', /^Bearer/);
  t.is(((await none.json()) as { error: string }).error, 'invalid_token');
  t.is((await fetch(`${gh.issuer}/metrics`, { headers: { authorization: `Bearer ${token}x` } })).status, 401);
  t.is((await fetch(`${gh.issuer}/metrics`, { headers: { authorization: `Basic ${token}` } })).status, 401);
  const families = await scrape(gh, { authorization: `Bearer ${token}` });
  t.true(families.has('gatehouse_http_requests_total'));
  t.is(
    (await fetch(`${gh.issuer}/metrics`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).status,
    405,
  );

  const off = await startGatehouse(t, {}, { METRICS_ENABLED: 'false' });
  t.is((await fetch(`${off.issuer}/metrics`)).status, 404);
});

test('the parser rejects malformed exposition text (it can fail)', (t) => {
  t.throws(() => parseExposition('# TYPE x counter\nx{a="1"} one\n'), { message: /bad value/ });
  t.throws(() => parseExposition('# TYPE x gauge\nx 1\nx{a="1"} Nan\n'), { message: /bad value/ });
  t.throws(() => parseExposition('# TYPE x counter\nx{a="1",a="2"} 1\n'), { message: /duplicate label/ });
  t.throws(() => parseExposition('# TYPE x counter\nx{a="\\q"} 1\n'), { message: /bad escape/ });
  t.throws(() => parseExposition('x 1\n# TYPE x counter\n'), { message: /TYPE after samples/ });
  t.throws(() => parseExposition('# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_count 1\n'), {
    message: /not cumulative/,
  });
  t.throws(() => parseExposition('# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_count 3\n'), {
    message: /_count/,
  });
  t.throws(() => parseExposition('# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na 2\n'), { message: /contiguous/ });
  t.is(
    parseExposition('# HELP x a "help"\n# TYPE x gauge\nx{a="q\\"\\n"} -Inf 123\n').get('x')?.samples[0]?.labels.a,
    'q"\n',
  );
});

test('a failed sign-in moves /metrics alike for a known and an unknown username', async (t) => {
  const gh = await startGatehouse(t, { clients: CLIENTS, trustProxy: true });
  // Every gatehouse_ sample except the timing-dependent ones (histogram buckets and sums).
  const counts = async () => {
    const out = new Map<string, number>();
    for (const [name, family] of await scrape(gh)) {
      if (!name.startsWith('gatehouse_')) continue;
      for (const s of family.samples) {
        if (s.name.endsWith('_bucket') || s.name.endsWith('_sum')) continue;
        out.set(`${s.name}${JSON.stringify(Object.entries(s.labels).sort())}`, s.value);
      }
    }
    return out;
  };
  const delta = (before: Map<string, number>, after: Map<string, number>) =>
    Object.fromEntries(
      [...after].filter(([k, v]) => v !== (before.get(k) ?? 0)).map(([k, v]) => [k, v - (before.get(k) ?? 0)]),
    );
  const page = await openLoginPage(gh.issuer);
  // One attempt of each first, so that no series appears for the first time in only one of the measured steps.
  await page.attempt('demo', 'warm-up-guess', '10.70.0.1');
  await page.attempt('nobody-at-all', 'warm-up-guess', '10.70.0.2');
  const start = await counts();
  t.is((await page.attempt('demo', 'a-wrong-guess', '10.70.0.3')).status, 401);
  const afterKnown = await counts();
  t.is((await page.attempt('no-such-user', 'a-wrong-guess', '10.70.0.4')).status, 401);
  const afterUnknown = await counts();
  const known = delta(start, afterKnown);
  const unknown = delta(afterKnown, afterUnknown);
  t.deepEqual(unknown, known);
  t.is(known['gatehouse_login_failures_total[]'], 1);
});

test('a not-a-number sample is served as NaN, the spelling of the text format', async (t) => {
  const gh = await startGatehouse(t);
  const gauge = new Gauge({
    name: 'test_not_a_number',
    help: 'a gauge whose value is NaN',
    registers: [gh.gatehouse.metrics.registry],
  });
  gauge.set(Number.NaN);
  const res = await fetch(`${gh.issuer}/metrics`);
  const text = await res.text();
  t.regex(text, /^test_not_a_number NaN$/m);
  t.true(Number.isNaN(parseExposition(text).get('test_not_a_number')?.samples[0]?.value));
});
