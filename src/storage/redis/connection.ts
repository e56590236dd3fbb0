/**
 * Opens the ioredis client for the configured topology: one `redis://` / `rediss://` URL (TLS for rediss),
 * Sentinel (the URL then carries only credentials, database and TLS) or Cluster (seed nodes; the URL, if any,
 * carries credentials and TLS).
 *
 * Rules it enforces:
 * - Fail fast: no offline queue, one retry per command, a command timeout — a request never hangs waiting for a
 *   Redis that is gone; the caller turns the error into 503 (see errors.ts).
 * - Reconnect forever in the background, so service resumes by itself when Redis is back.
 * - Auto-pipelining: commands issued in the same tick (the parallel halves of one operation) share one write;
 *   the scripts a request sends alone (`SENT_ALONE`) go straight out.
 * - Start-up waits (bounded) until Redis answers; a Gatehouse that cannot reach Redis does not start.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RedisConfig } from '../../config/types.ts';
import { StorageUnavailable } from '../types.ts';
import { SENT_ALONE } from './scripts.ts';

const COMMAND_TIMEOUT_MS = 2000;
const CONNECT_TIMEOUT_MS = 3000;
const STARTUP_WAIT_MS = 5000;

const reconnectDelay = (attempt: number) => Math.min(50 * 2 ** Math.min(attempt, 5), 1000);

function hostPort(address: string, what: string): { host: string; port: number } {
  const [, host, port] = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(address.trim()) ?? [];
  if (!host || !port) throw new StorageUnavailable(`${what}: "${address}" is not host:port`);
  return { host, port: Number(port) };
}

/** Credentials, database and TLS from a redis:// or rediss:// URL (Sentinel and Cluster modes). */
function fromUrl(url: string): Partial<RedisOptions> {
  if (url === '') return {};
  const u = new URL(url);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined;
  return {
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(db !== undefined && Number.isInteger(db) ? { db } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

const common: RedisOptions = {
  lazyConnect: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  commandTimeout: COMMAND_TIMEOUT_MS,
  connectTimeout: CONNECT_TIMEOUT_MS,
  enableAutoPipelining: true,
  autoPipeliningIgnoredCommands: [...SENT_ALONE],
  retryStrategy: reconnectDelay,
};

export function openRedis(config: RedisConfig): Redis | Cluster {
  switch (config.mode) {
    case 'single':
      return new Redis(config.url, common);
    case 'sentinel':
      return new Redis({
        ...common,
        ...fromUrl(config.url),
        sentinels: config.sentinels.map((s) => hostPort(s, 'redis.sentinels')),
        name: config.sentinelName,
        sentinelRetryStrategy: reconnectDelay,
      });
    case 'cluster': {
      const { retryStrategy: _unused, ...redisOptions } = { ...common, ...fromUrl(config.url) };
      return new Cluster(
        config.clusterNodes.map((n) => hostPort(n, 'redis.clusterNodes')),
        {
          lazyConnect: true,
          enableOfflineQueue: false,
          // ioredis' cluster auto-pipelining refuses a batch whose keys span nodes; the parallel halves of an
          // operation live in different slots by design, so each command goes on its own.
          enableAutoPipelining: false,
          clusterRetryStrategy: reconnectDelay,
          slotsRefreshTimeout: CONNECT_TIMEOUT_MS,
          redisOptions: {
            ...redisOptions,
            enableAutoPipelining: false,
            enableOfflineQueue: undefined,
          } as RedisOptions,
        },
      );
    }
  }
}

/** Connects and waits until Redis answers a PING, or fails with StorageUnavailable after a bounded wait. */
export async function connectRedis(client: Redis | Cluster, describe: string): Promise<void> {
  // An error event without a listener would crash the process; failures surface through commands instead.
  client.on('error', () => {});
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new StorageUnavailable(`Redis (${describe}) did not answer within ${STARTUP_WAIT_MS} ms`)),
      STARTUP_WAIT_MS,
    );
  });
  const ready = (async () => {
    try {
      await client.connect();
    } catch {
      // The first attempt failed; ioredis keeps retrying in the background — wait for 'ready' below.
    }
    if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
    await client.ping();
  })();
  try {
    await Promise.race([ready, timeout]);
  } catch (err) {
    client.disconnect();
    throw err instanceof StorageUnavailable
      ? err
      : new StorageUnavailable(`Redis (${describe}) is unreachable`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}
