/**
 * Starts a private Redis master and one Sentinel watching it (`redis-server --sentinel`) on free loopback ports
 * for one test file, and stops both at teardown.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedis, freePort, type TestRedis } from './redis.ts';

export interface TestRedisSentinel {
  master: TestRedis;
  /** Sentinel addresses as host:port, the form of `redis.sentinels`. */
  sentinels: string[];
  name: string;
  stop(): Promise<void>;
}

export async function startRedisSentinel(): Promise<TestRedisSentinel> {
  const master = await startRedis();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sentinel-'));
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      'sentinel monitor gatehouse 127.0.0.1 ' + master.port + ' 1',
      'sentinel down-after-milliseconds gatehouse 2000',
      '',
    ].join('\n'),
  );
  const sentinel: ChildProcess = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
  const stop = async () => {
    if (sentinel.exitCode === null && sentinel.signalCode === null) {
      const exited = new Promise((r) => sentinel.once('exit', r));
      sentinel.kill('SIGKILL');
      await exited;
    }
    await master.stop();
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    const probe = spawnSync(
      'redis-cli',
      ['-h', '127.0.0.1', '-p', String(port), 'SENTINEL', 'get-master-addr-by-name', 'gatehouse'],
      { encoding: 'utf8' },
    );
    if (probe.stdout?.includes(String(master.port))) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `sentinel on ${port} did not report the master (is redis-cli installed? apt-get install redis-tools)`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { master, sentinels: [`127.0.0.1:${port}`], name: 'gatehouse', stop };
}
