/**
 * Start-up check of Redis' eviction policy (`maxmemory-policy`). Clients and accounts are stored without a TTL;
 * under an `allkeys-*` policy a full Redis may evict them (and signing-in users' sessions with them) to make room.
 * Records with a TTL can be evicted under `volatile-*` too, but they are rebuilt by signing in again; what has no
 * TTL is never touched there.
 *
 * Rules:
 * - `noeviction` (Redis answers writes with an error when full: Gatehouse answers 503) and `volatile-*` are
 *   accepted.
 * - `allkeys-*` is refused in production (a ConfigError naming the setting) and warned about in development.
 * - Every master is asked (Cluster: each one; Sentinel: the current master). The policy is read from
 *   `INFO memory`, which managed Redis services answer even where `CONFIG GET` is disabled; a Redis that does not
 *   report it is accepted with a warning (the operator is told what to check).
 * - Uses its own short-lived connection, so it depends on nothing of the store but how to connect.
 */
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { ConfigError } from '../../config/errors.ts';
import type { Config } from '../../config/types.ts';
import { connectRedis, openRedis } from './connection.ts';

/** The `maxmemory_policy` line of an `INFO memory` answer, if present. */
function policyFromInfo(info: string): string | undefined {
  return /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
}

async function policies(client: Redis | Cluster): Promise<Array<string | undefined>> {
  const nodes =
    'nodes' in client && typeof client.nodes === 'function' ? (client as Cluster).nodes('master') : [client as Redis];
  return Promise.all(nodes.map(async (node) => policyFromInfo(await node.info('memory'))));
}

export async function checkMemoryPolicy(config: Config, log: Logger): Promise<void> {
  const client = openRedis(config.redis);
  let found: Array<string | undefined>;
  try {
    await connectRedis(client, 'maxmemory-policy check');
    found = await policies(client);
  } finally {
    client.disconnect();
  }
  const evicting = found.find((p) => p?.startsWith('allkeys-'));
  if (evicting) {
    const message = `Redis maxmemory-policy is ${evicting}: it can evict clients and accounts (stored without a TTL); set maxmemory-policy to noeviction or a volatile-* policy (docs/deployment.md)`;
    if (config.production) throw new ConfigError(`redis (maxmemory-policy): ${message}`);
    log.warn({ maxmemoryPolicy: evicting }, message);
    return;
  }
  if (found.some((p) => p === undefined))
    log.warn(
      'Redis did not report its maxmemory-policy; make sure it is noeviction or volatile-* (docs/deployment.md)',
    );
}
