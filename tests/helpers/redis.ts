/**
 * Starts a private `redis-server` on a free loopback port for one test file, and stops it at teardown.
 * Never uses the machine's shared Redis on 6379.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { freePort } from '../../bench/lib/processes.ts';
import { listening, redisArgs } from '../../bench/lib/redis.ts';

export interface TestRedis {
  port: number;
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
  /** Starts it again on the same port (outage tests). */
  restart(): Promise<void>;
}

/** A free loopback port, shared with the bench (one launcher helper for both). */
export { freePort };

export function assertRedisInstalled(): void {
  const probe = spawnSync('redis-server', ['--version']);
  if (probe.error || probe.status !== 0) {
    throw new Error(
      'redis-server is not installed: run `apt-get update && apt-get install -y redis-server` (.ci/run does this)',
    );
  }
}

async function waitForPort(port: number, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await listening(port))) {
    if (Date.now() > deadline) throw new Error(`redis-server did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export { redisArgs };

export async function startRedis(t?: ExecutionContext, extra: string[] = []): Promise<TestRedis> {
  assertRedisInstalled();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-redis-'));
  const launch = async () => {
    const child = spawn('redis-server', redisArgs(port, dir, extra), { stdio: 'ignore' });
    await waitForPort(port);
    return child;
  };
  const handle: TestRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    process: await launch(),
    async stop() {
      // A process killed by a signal has signalCode set and exitCode null: it is gone either way.
      if (handle.process.exitCode !== null || handle.process.signalCode !== null) return;
      const exited = new Promise((r) => handle.process.once('exit', r));
      handle.process.kill('SIGKILL');
      await exited;
    },
    async restart() {
      await handle.stop();
      handle.process = await launch();
    },
  };
  t?.teardown(() => handle.stop());
  return handle;
}
