/**
 * Bounded memory: one grant rotated 10,000 times (the provider's calls for each refresh: find, consume, upsert
 * of the successor) keeps a bounded number of keys and bytes — on Redis (measured with MEMORY USAGE on every
 * key of the store) and on the memory store. Uses the production defaults: reuse interval 5 s, detection
 * window 7 days, detection depth 20.
 */
import test from 'ava';
import { MemoryStore } from '../../src/storage/memory-store.ts';
import type { ReusePolicy } from '../../src/storage/reuse-policy.ts';
import type { Store } from '../../src/storage/types.ts';
import { startRedis } from '../helpers/redis.ts';
import { redisFixture } from './redis-fixture.ts';

const DEFAULTS: ReusePolicy = { reuseIntervalMs: 5000, detectionSeconds: 604800, detectionDepth: 20 };
const ROTATIONS = 10_000;

async function rotate(store: Store, grantId: string, times: number): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  await store.adapter('Grant').upsert(grantId, { kind: 'Grant', accountId: 'acct-1', clientId: 'web', openid: { scope: 'openid offline_access' } }, 2592000);
  const rts = store.adapter('RefreshToken');
  const payload = (jti: string) => ({
    iat: now,
    exp: now + 604800,
    jti,
    kind: 'RefreshToken',
    grantId,
    clientId: 'web',
    accountId: 'acct-1',
    sessionUid: 'session-uid-0123456789',
    scope: 'openid offline_access',
    iiat: now,
    rotations: 0,
    gty: 'authorization_code refresh_token',
    authTime: now,
  });
  let id = 'rt-0';
  await rts.upsert(id, payload(id), 604800);
  for (let i = 1; i <= times; i++) {
    const found = await rts.find(id);
    if (!found) throw new Error(`rotation ${i}: token lost`);
    await rts.consume(id);
    id = `rt-${i}`;
    await rts.upsert(id, payload(id), 604800);
  }
  return id;
}

test('Redis: 10,000 rotations of one grant keep it to at most 45 keys and 32 KiB', async (t) => {
  const redis = await startRedis(t);
  const fixture = await redisFixture(t, { url: redis.url }, DEFAULTS);
  const last = await rotate(fixture.store, 'grant-long-lived', ROTATIONS);
  t.truthy(await fixture.store.adapter('RefreshToken').find(last));
  const keys = await fixture.keys();
  const bytes = (await Promise.all(keys.map((k) => fixture.store.client.memory('USAGE', k, 'SAMPLES', '0')))).reduce<number>((a, b) => a + Number(b ?? 0), 0);
  t.log(`after ${ROTATIONS} rotations: ${keys.length} keys, ${bytes} bytes (MEMORY USAGE)`);
  // 20 remembered consumed tokens + the live one, each a record and a pointer; the Grant, its member index and
  // its consumed list.
  t.true(keys.length <= 45, `keys: ${keys.length}`);
  t.true(bytes <= 32 * 1024, `bytes: ${bytes}`);
  t.is((await fixture.keysWithoutTtl()).length, 0);
  const members = await fixture.store.client.zcard(fixture.store.keys.members('grant-long-lived'));
  t.true(members <= 21, `family index entries: ${members}`);
});

test('memory store: 10,000 rotations of one grant keep it to at most 25 keys', async (t) => {
  const store = new MemoryStore({ reuse: DEFAULTS });
  t.teardown(() => store.close());
  await rotate(store, 'grant-long-lived', ROTATIONS);
  t.log(`after ${ROTATIONS} rotations: ${store.keyCount} keys`);
  t.true(store.keyCount <= 25, `keys: ${store.keyCount}`);
});
