/**
 * Starts a private 3-master Redis Cluster on loopback for one test file (three `redis-server --cluster-enabled
 * yes` on free ports, each with its own directory, joined by `redis-cli --cluster create`), and stops it at
 * teardown. Fails with an install hint when redis-server or redis-cli is missing.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { assertRedisInstalled, freePort, redisArgs } from './redis.ts';
import { waitFor } from './wait.ts';

export interface TestRedisCluster {
  ports: number[];
  /** Seed nodes as host:port, the form of `redis.clusterNodes`. */
  nodes: string[];
  stop(): Promise<void>;
}

function assertRedisCliInstalled(): void {
  const probe = spawnSync('redis-cli', ['--version']);
  if (probe.error || probe.status !== 0) {
    throw new Error('redis-cli is not installed: run `apt-get update && apt-get install -y redis-tools` (it comes with redis-server)');
  }
}


const cli = (port: number, ...args: string[]) => spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { encoding: 'utf8' });

export async function startRedisCluster(t?: ExecutionContext): Promise<TestRedisCluster> {
  assertRedisInstalled();
  assertRedisCliInstalled();
  const ports: number[] = [];
  while (ports.length < 3) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  const children: ChildProcess[] = ports.map((port) => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cluster-'));
    return spawn('redis-server', redisArgs(port, dir, ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-node-timeout', '2000']), {
      stdio: 'ignore',
    });
  });
  const stop = async () => {
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      }),
    );
  };
  t?.teardown(stop);
  try {
    await waitFor(() => ports.every((p) => cli(p, 'PING').stdout.trim() === 'PONG'), 'cluster nodes to listen');
    const create = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], {
      encoding: 'utf8',
    });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}\n${create.stderr}`);
    await waitFor(() => ports.every((p) => /cluster_state:ok/.test(cli(p, 'CLUSTER', 'INFO').stdout)), 'cluster_state:ok');
  } catch (err) {
    await stop();
    throw err;
  }
  return { ports, nodes: ports.map((p) => `127.0.0.1:${p}`), stop };
}
