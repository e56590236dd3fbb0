/**
 * Refresh-token lineages over real HTTP, tried as an attacker would (src/storage/refresh-lineage.ts,
 * docs/storage.md "Refresh-token lineages"): on the memory store and on a real Redis (and a real Cluster for the
 * storage size of a login).
 *
 * - Thief first: a stolen token is used by the thief, who rotates his chain 1, 30 or 1,000 times; when the real
 *   client presents the stolen token the whole family dies, the thief's newest token included.
 * - 20 presentations of one token after the window: all refused, the family revoked.
 * - Forged tokens (random, altered generation, another lineage in this grant's shape) revoke nothing.
 * - One login after 10 and after 10,000 rotations: at most 8 keys of its own and, with its account's indexes, 8 KiB
 *   (MEMORY USAGE), the same keys.
 * - A refresh token of the earlier one-record-per-token format refreshes once and continues as a lineage.
 */
import test, { type ExecutionContext } from 'ava';
import type { Redis } from 'ioredis';
import type { RedisStore } from '../../src/storage/redis-store.ts';
import type { Store } from '../../src/storage/types.ts';
import type { TestGatehouse } from '../helpers/gatehouse.ts';
import { startRedisCluster } from '../helpers/redis-cluster.ts';
import { fileRedis } from '../helpers/redis.ts';
import { keysOf } from './redis-fixture.ts';
import {
  authorize,
  CLIENT,
  discover,
  exchangeCode,
  REDIRECT,
  refresh,
  sharedSettings,
  startRedisGatehouse,
} from './redis-gatehouse.ts';

const redis = fileRedis(test);

type Backend = 'memory' | 'redis';
const BACKENDS: Backend[] = ['memory', 'redis'];

/** The storage test client, allowed the demo API's read scope so that its access tokens can be JWTs (nothing stored). */
const JWT_CLIENT = {
  client_id: CLIENT.id,
  client_secret: CLIENT.secret,
  redirect_uris: [REDIRECT],
  grant_types: ['authorization_code', 'refresh_token'],
  scope: 'openid offline_access api:read',
};

async function signedIn(
  t: ExecutionContext,
  backend: Backend | { cluster: string[] },
  reuseSeconds: number,
  scope = 'openid offline_access',
) {
  const shared = await sharedSettings();
  const base = { 'refreshTokens.reuseIntervalSeconds': reuseSeconds, clients: [JWT_CLIENT] };
  const gh =
    backend === 'memory'
      ? await startRedisGatehouse(t, '', shared, base)
      : backend === 'redis'
        ? await startRedisGatehouse(t, redis.url, shared, base)
        : await startRedisGatehouse(t, '', shared, {
            ...base,
            'redis.mode': 'cluster',
            'redis.clusterNodes': backend.cluster,
          });
  const { code, verifier } = await authorize(gh, await discover(gh), { scope });
  const first = await exchangeCode(gh.issuer, code, verifier);
  t.is(first.status, 200, JSON.stringify(first.body));
  return { gh, shared, rt: first.body.refresh_token as string };
}

async function rotateOverHttp(t: ExecutionContext, gh: TestGatehouse, from: string, times: number): Promise<string> {
  let token = from;
  for (let i = 0; i < times; i++) {
    const r = await refresh(gh.issuer, token);
    if (r.status !== 200) t.fail(`rotation ${i}: ${r.status} ${JSON.stringify(r.body)}`);
    token = r.body.refresh_token as string;
  }
  return token;
}

const reuses = (gh: TestGatehouse) => gh.logs.filter((l) => l.audit === 'refresh_token.reuse_detected').length;

for (const backend of BACKENDS) {
  for (const depth of [1, 30, 1000]) {
    test(`${backend}: thief first, ${depth} rotation(s) deep — the stolen token, presented by the client, kills the thief's chain`, async (t) => {
      const { gh, rt: stolen } = await signedIn(t, backend, 0);
      const thiefNewest = await rotateOverHttp(t, gh, stolen, depth);
      t.is(reuses(gh), 0);
      const client = await refresh(gh.issuer, stolen);
      t.is(client.status, 400);
      t.is(client.body.error, 'invalid_grant');
      t.is(reuses(gh), 1, 'one reuse detected, audited');
      const thief = await refresh(gh.issuer, thiefNewest);
      t.is(thief.status, 400, "the thief's newest token is dead");
      t.is(thief.body.error, 'invalid_grant');
    });
  }

  test(`${backend}: 20 presentations of a used token after the window are all refused and revoke the family`, async (t) => {
    const { gh, rt } = await signedIn(t, backend, 1);
    const second = await refresh(gh.issuer, rt);
    t.is(second.status, 200);
    // The grace window is a duration: let it pass.
    await new Promise((r) => setTimeout(r, 1100));
    const results = await Promise.all(Array.from({ length: 20 }, () => refresh(gh.issuer, rt)));
    t.deepEqual(
      results.map((r) => [r.status, r.body.error]),
      Array(20).fill([400, 'invalid_grant']),
    );
    const current = await refresh(gh.issuer, second.body.refresh_token as string);
    t.is(current.status, 400, 'the current token died with the family');
    t.true(reuses(gh) >= 1);
  });

  test(`${backend}: forged refresh tokens are invalid_grant and revoke nothing`, async (t) => {
    const { gh, rt } = await signedIn(t, backend, 0);
    const live = await rotateOverHttp(t, gh, rt, 3);
    const [grantId, lineage, gen, mac] = live.split('.') as [string, string, string, string];
    t.is(gen, '3', 'the token names its generation');
    const other = await signedIn(t, backend, 0);
    const [, otherLineage, , otherMac] = (other.rt as string).split('.') as [string, string, string, string];
    const forged = [
      Buffer.from('random bytes that were never issued').toString('base64url'),
      `${grantId}.${lineage}.0.${mac}`, // an older generation, MAC of the current one
      `${grantId}.${lineage}.2`, // truncated
      `${grantId}.${lineage}.${gen}.${mac.slice(0, 21)}`, // truncated MAC
      `${grantId}.${otherLineage}.0.${otherMac}`, // another family's lineage and MAC in this grant's shape
      `${grantId}.${'A'.repeat(22)}.0.${mac}`, // a made-up lineage with a leaked grant id
    ];
    for (const f of forged) {
      const r = await refresh(gh.issuer, f);
      t.is(r.status, 400, f);
      t.is(r.body.error, 'invalid_grant', f);
    }
    t.is(reuses(gh), 0);
    t.is((await refresh(gh.issuer, live)).status, 200, 'the real chain goes on');
  });
}

/**
 * Every key of the login (all but counters, clients, accounts with their email index and the store's key), and the
 * per-account indexes of the account center (sessions, grants: one each per account, shared by all its logins),
 * with their MEMORY USAGE.
 */
async function loginFootprint(
  store: RedisStore,
  prefix: string,
): Promise<{ keys: string[]; accountKeys: string[]; bytes: number }> {
  const all = await keysOf(store.client, prefix);
  const counted = all.filter((k) => !/\{(clients|accounts|secrets)\}|\{email:|throttle:|lock:|rate:/.test(k));
  const perAccount = (k: string) => /\{a[sg]:[^}]+\}:(sessions|grants)$/.test(k);
  const client = store.client as Redis;
  const bytes = (await Promise.all(counted.map((k) => client.memory('USAGE', k, 'SAMPLES', '0')))).reduce<number>(
    (a, b) => a + Number(b ?? 0),
    0,
  );
  return { keys: counted.filter((k) => !perAccount(k)), accountKeys: counted.filter(perAccount), bytes };
}

/** Rotates as the provider does (find, consume, save of the next generation), `times` times, in the store. */
async function rotateInStore(store: Store, from: string, times: number): Promise<string> {
  const rts = store.adapter('RefreshToken');
  let id = from;
  for (let i = 0; i < times; i++) {
    const found = await rts.find(id);
    const token = store.refreshTokens.parse(id);
    if (!found || found.consumed || !token) throw new Error(`rotation ${i}: token lost`);
    await rts.consume(id);
    id = store.refreshTokens.mint({ ...token, gen: token.gen + 1 });
    await rts.upsert(
      id,
      { ...found, jti: id, rotations: token.gen + 1 },
      (found.exp as number) - Math.floor(Date.now() / 1000),
    );
  }
  return id;
}

for (const topology of ['redis', 'cluster'] as const) {
  test(`${topology}: one login after 10 and after 10,000 rotations keeps the same keys, at most 8 of its own, 8 KiB with its account's indexes`, async (t) => {
    const where = topology === 'redis' ? 'redis' : { cluster: (await startRedisCluster(t)).nodes };
    const { gh, shared, rt } = await signedIn(t, where, 5, 'openid offline_access api:read');
    const store = gh.gatehouse.store as RedisStore;
    let token = await rotateOverHttp(t, gh, rt, 10);
    const after10 = await loginFootprint(store, shared.keyPrefix);
    token = await rotateInStore(store, token, 9_980);
    token = await rotateOverHttp(t, gh, token, 10);
    const after10k = await loginFootprint(store, shared.keyPrefix);
    t.log(
      `one login: ${after10.keys.length} keys (+${after10.accountKeys.length} account indexes) / ${after10.bytes} B after 10 rotations; ${after10k.keys.length} (+${after10k.accountKeys.length}) / ${after10k.bytes} B after 10,000`,
    );
    t.log(after10k.keys.map((k) => k.slice(shared.keyPrefix.length)).join(' '));
    t.deepEqual(after10k.keys, after10.keys);
    t.deepEqual(after10k.accountKeys, after10.accountKeys);
    t.is(after10k.accountKeys.length, 2, 'the account center indexes its sessions and its grants');
    t.true(after10k.keys.length <= 8, `keys: ${after10k.keys.length}`);
    t.true(after10k.bytes <= 8 * 1024, `bytes: ${after10k.bytes}`);
    t.is(store.refreshTokens.parse(token)?.gen, 10_000);
    t.is((await refresh(gh.issuer, token)).status, 200);
  });
}

test('redis: a refresh token of the earlier format refreshes once and continues as a lineage; replaying it revokes', async (t) => {
  const { gh, shared, rt } = await signedIn(t, 'redis', 0);
  const store = gh.gatehouse.store as RedisStore;
  const found = await store.adapter('RefreshToken').find(rt);
  const grantId = found?.grantId as string;
  // What the earlier version stored for a refresh token: a record in the family slot, a pointer, an index entry.
  const legacyId = 'L3gacyRefreshTokenIdOf43CharactersXXXXXXXXX';
  const ttl = 3600_000;
  const client = store.client as Redis;
  await client.hset(
    store.keys.familyRecord(grantId, 'RefreshToken', legacyId),
    'p',
    JSON.stringify({ ...found, jti: legacyId }),
  );
  await client.pexpire(store.keys.familyRecord(grantId, 'RefreshToken', legacyId), ttl);
  await client.set(store.keys.home('RefreshToken', legacyId), `@${grantId}`, 'PX', ttl);
  await client.zadd(store.keys.members(grantId), Date.now() + ttl, `RefreshToken:${legacyId}`);
  t.true(legacyId.startsWith('L3gacy') && shared.keyPrefix.length > 0);

  const upgraded = await refresh(gh.issuer, legacyId);
  t.is(upgraded.status, 200, JSON.stringify(upgraded.body));
  const next = upgraded.body.refresh_token as string;
  t.deepEqual(store.refreshTokens.parse(next), {
    grantId,
    lineage: store.refreshTokens.legacyLineage(legacyId),
    gen: 0,
  });
  const after = await refresh(gh.issuer, next);
  t.is(after.status, 200, 'the chain continues in the new format');
  const replay = await refresh(gh.issuer, legacyId);
  t.is(replay.status, 400);
  t.is(replay.body.error, 'invalid_grant');
  t.is(
    (await refresh(gh.issuer, after.body.refresh_token as string)).status,
    400,
    'replaying the old token revoked the family',
  );
  t.is(reuses(gh), 1);
});
