/**
 * Starts a private Redis master and one Sentinel watching it (`redis-server --sentinel`) on free loopback ports
 * for one test file, and stops both at teardown.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, stopChild, waitFor } from '../../bench/lib/processes.ts';
import { startRedis, type TestRedis } from './redis.ts';

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
    await stopChild(sentinel, 'SIGKILL');
    await master.stop();
  };
  const reportsMaster = () =>
    spawnSync(
      'redis-cli',
      ['-h', '127.0.0.1', '-p', String(port), 'SENTINEL', 'get-master-addr-by-name', 'gatehouse'],
      {
        encoding: 'utf8',
      },
    ).stdout?.includes(String(master.port)) ?? false;
  try {
    await waitFor(
      reportsMaster,
      `sentinel on ${port} to report the master (is redis-cli installed? apt-get install redis-tools)`,
      10_000,
      50,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { master, sentinels: [`127.0.0.1:${port}`], name: 'gatehouse', stop };
}
