/**
 * The production store: everything in Redis (single node, Sentinel or Cluster — see redis/connection.ts), so
 * any number of stateless Gatehouse instances serve the same users. Same contract as the memory store
 * (./types.ts, ./reuse-policy.ts); the key layout is documented in redis/keys.ts, the atomic decisions in
 * redis/scripts.ts. Any Redis outage surfaces as StorageUnavailable (503 temporarily_unavailable).
 */
import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { RedisConfig } from '../config/types.ts';
import { redisEmailIndex, redisGrantIndex, redisOneTimeTokens, redisSessionIndex } from './redis/account-records.ts';
import { GrantLocator, prefetch, redisAdapter } from './redis/adapter.ts';
import { connectRedis, openRedis } from './redis/connection.ts';
import { guarded } from './redis/errors.ts';
import { type KeyLayout, keyLayout } from './redis/keys.ts';
import { redisLogoutQueue } from './redis/logout-queue.ts';
import { redisAccounts, redisClients, redisThrottle } from './redis/records.ts';
import { defineScripts, type ScriptedClient } from './redis/scripts.ts';
import { RefreshTokenCodec } from './refresh-lineage.ts';
import type { ReusePolicy } from './reuse-policy.ts';
import { type ReuseEvent, StorageConflict, type Store } from './types.ts';

export interface RedisStore extends Store {
  readonly kind: 'redis';
  /** The underlying client (tests and the bench read INFO, DBSIZE and MEMORY USAGE through it). */
  readonly client: Redis | Cluster;
  readonly keys: KeyLayout;
}

function describe(redis: RedisConfig): string {
  if (redis.mode === 'sentinel') return `sentinel ${redis.sentinelName} via ${redis.sentinels.join(',')}`;
  if (redis.mode === 'cluster') return `cluster ${redis.clusterNodes.join(',')}`;
  const u = URL.canParse(redis.url) ? new URL(redis.url) : undefined;
  return u ? `${u.protocol}//${u.host}` : 'single';
}

/** The store's refresh-token key: created by the first instance that starts, read by every other. */
async function refreshTokenKey(client: ScriptedClient, keys: KeyLayout): Promise<Buffer> {
  return guarded(async () => {
    await client.set(keys.refreshTokenKey(), randomBytes(32).toString('base64url'), 'NX');
    const stored = await client.get(keys.refreshTokenKey());
    const key = stored === null ? Buffer.alloc(0) : Buffer.from(stored, 'base64url');
    if (key.length < 32) throw new StorageConflict(`${keys.refreshTokenKey()} does not hold a 32-byte base64url key`);
    return key;
  });
}

export async function createRedisStore(redis: RedisConfig, reuse: ReusePolicy): Promise<RedisStore> {
  // The settings were validated with the rest of the configuration (src/config/load.ts).
  const keys = keyLayout(redis.keyPrefix);
  const raw = openRedis(redis);
  const client: ScriptedClient = defineScripts(raw);
  await connectRedis(raw, describe(redis));
  const codec = new RefreshTokenCodec(await refreshTokenKey(client, keys));

  const listeners: Array<(e: ReuseEvent) => void> = [];
  const ctx = {
    client,
    keys,
    prefix: redis.keyPrefix,
    reuse,
    inline: redis.mode !== 'cluster',
    locator: new GrantLocator(),
    codec,
    emitReuse: (event: ReuseEvent) => {
      for (const listener of listeners) listener(event);
    },
  };
  const adapters = new Map<string, ReturnType<typeof redisAdapter>>();

  return {
    kind: 'redis',
    client: raw,
    keys,
    refreshTokens: codec,
    adapter(model) {
      let a = adapters.get(model);
      if (!a) {
        a = redisAdapter(model, ctx);
        adapters.set(model, a);
      }
      return a;
    },
    prefetch: (what) => prefetch(ctx, what),
    accounts: redisAccounts(client, keys),
    clients: redisClients(client, keys),
    throttle: redisThrottle(client, keys),
    sessionIndex: redisSessionIndex(client, redis.keyPrefix),
    oneTimeTokens: redisOneTimeTokens(client, redis.keyPrefix),
    logoutQueue: redisLogoutQueue(client, redis.keyPrefix),
    grantIndex: redisGrantIndex(client, redis.keyPrefix),
    emailIndex: redisEmailIndex(client, redis.keyPrefix),
    onReuse(listener) {
      listeners.push(listener);
    },
    ping: () =>
      guarded(async () => {
        await client.ping();
      }),
    async close() {
      try {
        await raw.quit();
      } catch {
        raw.disconnect();
      }
    },
  };
}
