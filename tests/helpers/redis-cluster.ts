/**
 * A private 3-master Redis Cluster on loopback for one test file, stopped at teardown. The launcher itself is
 * shared with the bench's cluster scenario (bench/lib/redis-cluster.ts).
 */
import type { ExecutionContext } from 'ava';
import { type RedisCluster, startRedisCluster as launch } from '../../bench/lib/redis-cluster.ts';

export type TestRedisCluster = RedisCluster;

export async function startRedisCluster(t?: ExecutionContext): Promise<TestRedisCluster> {
  const cluster = await launch();
  t?.teardown(cluster.stop);
  return cluster;
}
