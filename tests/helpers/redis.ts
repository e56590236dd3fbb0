/**
 * A private `redis-server` on a free loopback port for one test file, stopped at teardown. Never the machine's
 * shared Redis on 6379. The launcher is the bench's (bench/lib/redis.ts); this adds the test teardown.
 */
import type { ExecutionContext, TestFn } from 'ava';
import { type RedisServer, startRedisServer } from '../../bench/lib/redis.ts';
import { perFile } from './per-file.ts';

export type TestRedis = RedisServer;

export async function startRedis(t?: ExecutionContext, extra: string[] = []): Promise<TestRedis> {
  const redis = await startRedisServer(extra);
  t?.teardown(() => redis.stop());
  return redis;
}

/** One Redis for all tests of a file (perFile): started before them, stopped after them. */
export function fileRedis(test: TestFn): TestRedis {
  return perFile(
    test,
    () => startRedisServer(),
    (redis) => redis.stop(),
  );
}
