/**
 * A private 3-master Redis Cluster on loopback (three `redis-server --cluster-enabled yes` on free ports, each with
 * its own directory, joined by `redis-cli --cluster create`), for the bench's cluster scenario and the tests'
 * cluster fixtures (tests/helpers/redis-cluster.ts adds the test teardown). Fails with an install hint when
 * redis-server or redis-cli is missing; `stop` kills only the servers it started.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, stopChild, waitFor } from './processes.ts';
import { assertRedisInstalled, redisArgs } from './redis.ts';

export interface RedisCluster {
  ports: number[];
  /** Seed nodes as host:port, the form of `redis.clusterNodes`. */
  nodes: string[];
  /** The servers' process ids, in the order of `ports`. */
  pids: Array<number | undefined>;
  stop(): Promise<void>;
}

function assertRedisCliInstalled(): void {
  const probe = spawnSync('redis-cli', ['--version']);
  if (probe.error || probe.status !== 0) {
    throw new Error(
      'redis-cli is not installed: run `apt-get update && apt-get install -y redis-tools` (it comes with redis-server)',
    );
  }
}

const cli = (port: number, ...args: string[]) =>
  spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { encoding: 'utf8' });

export async function startRedisCluster(): Promise<RedisCluster> {
  assertRedisInstalled();
  assertRedisCliInstalled();
  const ports: number[] = [];
  while (ports.length < 3) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  const children: ChildProcess[] = ports.map((port) => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cluster-'));
    const cluster = [
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      join(dir, 'nodes.conf'),
      '--cluster-node-timeout',
      '2000',
    ];
    return spawn('redis-server', redisArgs(port, dir, cluster), { stdio: 'ignore' });
  });
  const stop = async () => {
    await Promise.all(children.map((child) => stopChild(child, 'SIGKILL')));
  };
  try {
    await waitFor(
      () => ports.every((p) => cli(p, 'PING').stdout.trim() === 'PONG'),
      'cluster nodes to listen',
      10_000,
      50,
    );
    const create = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
      {
        encoding: 'utf8',
      },
    );
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}\n${create.stderr}`);
    await waitFor(
      () => ports.every((p) => /cluster_state:ok/.test(cli(p, 'CLUSTER', 'INFO').stdout)),
      'cluster_state:ok',
      10_000,
      50,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { ports, nodes: ports.map((p) => `127.0.0.1:${p}`), pids: children.map((c) => c.pid), stop };
}
