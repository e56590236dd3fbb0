/**
 * Health and readiness on a real Redis: /healthz answers while the process lives; /readyz is 200 only while
 * storage answers (and the instance is not stopping). Stopping the private redis-server turns /readyz 503 and
 * starting it again turns it back to 200 without restarting Gatehouse. Neither endpoint needs credentials or
 * says anything but its status.
 */
import test from 'ava';
import { startGatehouse } from '../helpers/gatehouse.ts';
import { startRedis } from '../helpers/redis.ts';

async function get(url: string): Promise<{ status: number; body: Record<string, unknown>; cache: string | null }> {
  const res = await fetch(url);
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown>,
    cache: res.headers.get('cache-control'),
  };
}

async function until<T>(probe: () => Promise<T>, ok: (v: T) => boolean, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('Redis down: /readyz 503 and /healthz still 200; Redis back: /readyz 200 again', async (t) => {
  const redis = await startRedis(t);
  const gh = await startGatehouse(t, { 'redis.url': redis.url, 'redis.keyPrefix': `h${process.pid}:` });

  const live = await get(`${gh.issuer}/healthz`);
  t.is(live.status, 200);
  t.deepEqual(live.body, { status: 'ok' });
  t.is(live.cache, 'no-store');
  const ready = await get(`${gh.issuer}/readyz`);
  t.is(ready.status, 200);
  t.deepEqual(ready.body, { status: 'ready', storage: 'ok', keys: 'loaded', stopping: false });

  await redis.stop();
  const down = await get(`${gh.issuer}/readyz`);
  t.is(down.status, 503);
  t.deepEqual(
    down.body,
    { status: 'not_ready', storage: 'unavailable', keys: 'loaded', stopping: false },
    'no Redis address, error or stack',
  );
  t.is((await get(`${gh.issuer}/healthz`)).status, 200, 'alive even when not ready: a restart would not help');

  await redis.restart();
  const back = await until(
    () => get(`${gh.issuer}/readyz`),
    (r) => r.status === 200,
  );
  t.is(back.status, 200, 'ready again once Redis answers, without restarting Gatehouse');
  t.deepEqual(back.body, { status: 'ready', storage: 'ok', keys: 'loaded', stopping: false });
});

test('a stopping instance is not ready (the load balancer drains it) but still alive', async (t) => {
  const gh = await startGatehouse(t);
  t.is((await get(`${gh.issuer}/readyz`)).status, 200);
  gh.gatehouse.stopping();
  const r = await get(`${gh.issuer}/readyz`);
  t.is(r.status, 503);
  t.is(r.body.stopping, true);
  t.is((await get(`${gh.issuer}/healthz`)).status, 200);
});

test('health endpoints need no credentials; only GET is routed to them', async (t) => {
  const gh = await startGatehouse(t, {}, { METRICS_TOKEN: 'metrics-token-for-the-test-0123456789abcdef' });
  t.is((await fetch(`${gh.issuer}/healthz`)).status, 200, 'the metrics token does not guard health');
  t.is((await fetch(`${gh.issuer}/readyz`)).status, 200);
  t.is((await fetch(`${gh.issuer}/healthz`, { method: 'POST', headers: { accept: 'application/json' } })).status, 404);
});
