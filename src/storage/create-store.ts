/**
 * Chooses the store from config: Redis when `redis.url` (or sentinel/cluster nodes) is configured, otherwise
 * the embedded memory store (which production refuses at config validation).
 */
import type { Config } from '../config/types.ts';
import { MemoryStore } from './memory-store.ts';
import type { ReusePolicy } from './reuse-policy.ts';
import type { Store } from './types.ts';

function reusePolicy(config: Config): ReusePolicy {
  return { reuseIntervalMs: config.refreshTokens.reuseIntervalSeconds * 1000 };
}

export function usesRedis(config: Config): boolean {
  return config.redis.url !== '' || config.redis.mode !== 'single';
}

export async function createStore(config: Config): Promise<Store> {
  if (usesRedis(config)) {
    const { createRedisStore } = await import('./redis-store.ts');
    return createRedisStore(config.redis, reusePolicy(config));
  }
  return new MemoryStore({ reuse: reusePolicy(config) });
}
