/**
 * Contract fixtures on real Redis: each fixture is a fresh Redis store with its own key prefix on a shared
 * server (or cluster), so tests in one file run in parallel without seeing each other's keys.
 */
import type { ExecutionContext } from 'ava';
import { Cluster, type Redis } from 'ioredis';
import type { RedisConfig } from '../../src/config/types.ts';
import { createRedisStore, type RedisStore } from '../../src/storage/redis-store.ts';
import type { ReusePolicy } from '../../src/storage/reuse-policy.ts';
import type { Fixture } from './contract.ts';

let n = 0;

export function redisConfig(base: Partial<RedisConfig>): RedisConfig {
  return {
    url: '',
    mode: 'single',
    sentinels: [],
    sentinelName: 'mymaster',
    clusterNodes: [],
    keyPrefix: `t${process.pid}-${n++}:`,
    ...base,
  };
}

async function scanAll(node: Redis, match: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await node.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    cursor = next;
    out.push(...batch);
  } while (cursor !== '0');
  return out;
}

/** Every key under `prefix`, on every master. */
export async function keysOf(client: Redis | Cluster, prefix: string): Promise<string[]> {
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  return (await Promise.all(nodes.map((node) => scanAll(node, `${prefix}*`)))).flat().sort();
}

export async function redisFixture(
  t: ExecutionContext | undefined,
  base: Partial<RedisConfig>,
  reuse: ReusePolicy,
): Promise<Fixture & { store: RedisStore }> {
  const config = redisConfig(base);
  const store = await createRedisStore(config, reuse);
  t?.teardown(() => store.close());
  const keys = () => keysOf(store.client, config.keyPrefix);
  return {
    store,
    keys,
    async keysWithoutTtl() {
      const all = await keys();
      const ttls = await Promise.all(all.map((k) => store.client.pttl(k)));
      return all.filter((_, i) => ttls[i] === -1);
    },
    durable: (k) =>
      k.includes('{clients}') || k.includes('{accounts}') || k.includes('{secrets}') || k.includes('{email:'),
  };
}
