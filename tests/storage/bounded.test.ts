/**
 * Constant storage per lineage: one grant's refresh token rotated 10,000 times (the provider's calls for each
 * refresh: find, consume, save of the successor) holds exactly the keys it held after 10 rotations — on Redis
 * (bytes measured with MEMORY USAGE on every key of the store) and on the memory store. The whole login (session,
 * grant, lineage, indexes) is measured over HTTP in tests/storage/refresh-lineage.test.ts.
 */
import test from 'ava';
import { MemoryStore } from '../../src/storage/memory-store.ts';
import { RefreshTokenCodec } from '../../src/storage/refresh-lineage.ts';
import type { ReusePolicy } from '../../src/storage/reuse-policy.ts';
import type { Store } from '../../src/storage/types.ts';
import { startRedis } from '../helpers/redis.ts';
import { redisFixture } from './redis-fixture.ts';

const DEFAULTS: ReusePolicy = { reuseIntervalMs: 5000 };

async function start(store: Store, grantId: string): Promise<string> {
  await store
    .adapter('Grant')
    .upsert(
      grantId,
      { kind: 'Grant', accountId: 'acct-1', clientId: 'web', openid: { scope: 'openid offline_access' } },
      2592000,
    );
  const id = store.refreshTokens.mint({ grantId, lineage: RefreshTokenCodec.newLineage(), gen: 0 });
  await store.adapter('RefreshToken').upsert(id, payload(grantId, id, 0), 604800);
  return id;
}

function payload(grantId: string, jti: string, rotations: number) {
  const now = Math.floor(Date.now() / 1000);
  return {
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
    rotations,
    gty: 'authorization_code refresh_token',
    authTime: now,
  };
}

async function rotate(store: Store, from: string, times: number): Promise<string> {
  const rts = store.adapter('RefreshToken');
  let id = from;
  for (let i = 0; i < times; i++) {
    const found = await rts.find(id);
    if (!found || found.consumed) throw new Error(`rotation ${i}: token lost`);
    await rts.consume(id);
    const token = store.refreshTokens.parse(id);
    if (!token) throw new Error('not a lineage token');
    id = store.refreshTokens.mint({ ...token, gen: token.gen + 1 });
    await rts.upsert(id, payload(token.grantId, id, token.gen + 1), 604800);
  }
  return id;
}

test('Redis: after 10 and after 10,000 rotations one lineage holds the same keys, under 4 KiB', async (t) => {
  const redis = await startRedis(t);
  const fixture = await redisFixture(t, { url: redis.url }, DEFAULTS);
  const measure = async () => {
    const keys = (await fixture.keys()).filter((k) => !fixture.durable(k));
    const bytes = (
      await Promise.all(keys.map((k) => fixture.store.client.memory('USAGE', k, 'SAMPLES', '0')))
    ).reduce<number>((a, b) => a + Number(b ?? 0), 0);
    return { keys, bytes };
  };
  let id = await rotate(fixture.store, await start(fixture.store, 'grant-long-lived'), 10);
  const after10 = await measure();
  id = await rotate(fixture.store, id, 9_990);
  const after10k = await measure();
  t.log(
    `after 10 rotations: ${after10.keys.length} keys, ${after10.bytes} B; after 10,000: ${after10k.keys.length} keys, ${after10k.bytes} B (MEMORY USAGE)`,
  );
  t.deepEqual(after10k.keys, after10.keys);
  t.true(after10k.bytes <= 4096, `bytes: ${after10k.bytes}`);
  t.is((await fixture.store.adapter('RefreshToken').find(id))?.consumed, undefined, 'the newest token is live');
  t.is((await fixture.keysWithoutTtl()).filter((k) => !fixture.durable(k)).length, 0);
});

test('memory store: after 10 and after 10,000 rotations one lineage holds the same keys', async (t) => {
  const store = new MemoryStore({ reuse: DEFAULTS });
  t.teardown(() => store.close());
  let id = await rotate(store, await start(store, 'grant-long-lived'), 10);
  const after10 = store.liveKeys().sort();
  id = await rotate(store, id, 9_990);
  t.deepEqual(store.liveKeys().sort(), after10);
  t.log(`after 10,000 rotations: ${store.keyCount} keys`);
  t.is((await store.adapter('RefreshToken').find(id))?.consumed, undefined);
});
