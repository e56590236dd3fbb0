/**
 * The bench's private redis-server and what the bench reads from it: `INFO commandstats` (commands per
 * request), `INFO stats` read events (round trips), `INFO memory`, the set of keys under Gatehouse's prefix with `MEMORY USAGE` of each, and a MONITOR
 * probe that tells commands sent by clients (round trips at most) from commands run inside Lua scripts.
 *
 * Rules: never the machine's Redis on 6379 — a new server on a free loopback port, no RDB, no AOF, its own
 * temporary directory; the bench's own commands (INFO, SCAN, MEMORY, MONITOR, CONFIG) are left out of every count.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { type Child, freePort, stopChild, waitFor } from './processes.ts';

/** Commands the bench itself sends; they are not Gatehouse's work. */
const OWN_COMMANDS =
  /^(info|scan|memory\|usage|memory\|stats|monitor|config\|.*|ping|client\|.*|hello|select|dbsize|command\|.*)$/;

/**
 * One private redis-server on a free loopback port: the bench's server and the tests' (tests/helpers/redis.ts adds
 * the test teardown). `stop` kills it (it holds nothing to save) and removes its directory; `restart` starts it
 * again on the same port (outage tests).
 */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly version: string;
  /** The running server (a new process after `restart`). */
  readonly process: ChildProcess;
  /** The last 2 KiB the server wrote to stderr. */
  stderrTail(): string;
  stop(): Promise<void>;
  restart(): Promise<void>;
}

export interface BenchRedis {
  readonly url: string;
  readonly version: string;
  readonly client: Redis;
  readonly child: Child;
  stop(): Promise<void>;
}

export function assertRedisInstalled(): string {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      'redis-server is not on PATH: install it (Debian/Ubuntu: apt-get update && apt-get install -y redis-server)',
    );
  }
  return /v=(\S+)/.exec(probe.stdout)?.[1] ?? probe.stdout.trim();
}

/** Starts a redis-server (`extra` arguments after the private defaults of `redisArgs`) and waits until it listens. */
export async function startRedisServer(extra: string[] = []): Promise<RedisServer> {
  const version = assertRedisInstalled();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-redis-'));
  let tail = '';
  const launch = async (): Promise<ChildProcess> => {
    mkdirSync(dir, { recursive: true });
    const proc = spawn('redis-server', redisArgs(port, dir, extra), { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr.on('data', (d: Buffer) => {
      tail = (tail + d.toString()).slice(-2048);
    });
    try {
      await waitFor(
        () => {
          if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}`);
          return listening(port);
        },
        `redis-server to listen on ${port}`,
        10_000,
      );
    } catch (err) {
      await stopChild(proc, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`${(err as Error).message}: ${tail}`);
    }
    return proc;
  };
  let proc = await launch();
  const stop = async () => {
    await stopChild(proc, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    version,
    get process() {
      return proc;
    },
    stderrTail: () => tail,
    stop,
    async restart() {
      await stop();
      proc = await launch();
    },
  };
}

/** The bench's server, with its version and a client for the bench's own reads (INFO, SCAN, MEMORY). */
export async function startRedis(): Promise<BenchRedis> {
  const server = await startRedisServer();
  const client = new Redis({ port: server.port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
  const child: Child = {
    name: 'redis-server',
    process: server.process,
    stderrTail: server.stderrTail,
    stop: server.stop,
  };
  return {
    url: server.url,
    version: server.version,
    client,
    child,
    async stop() {
      client.disconnect();
      await server.stop();
    },
  };
}

/** A private, non-persistent redis-server on loopback (the bench's and the tests' one set of arguments). */
export function redisArgs(port: number, dir: string, extra: string[] = []): string[] {
  return [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    '--protected-mode',
    'yes',
    ...extra,
  ];
}

/** Whether something accepts connections on the loopback port. */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.end();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function infoFields(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) out.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return out;
}

/** Calls per command (Gatehouse's only; commands run inside Lua scripts are included, as Redis counts them). */
export async function commandStats(client: Redis): Promise<Map<string, number>> {
  const stats = new Map<string, number>();
  for (const [key, value] of infoFields(await client.info('commandstats'))) {
    const name = key.replace(/^cmdstat_/, '');
    if (OWN_COMMANDS.test(name)) continue;
    stats.set(name, Number(/calls=(\d+)/.exec(value)?.[1] ?? 0));
  }
  return stats;
}

export function statsDelta(
  before: Map<string, number>,
  after: Map<string, number>,
): { total: number; byCommand: Record<string, number> } {
  const byCommand: Record<string, number> = {};
  let total = 0;
  for (const [name, calls] of after) {
    const d = calls - (before.get(name) ?? 0);
    if (d > 0) {
      byCommand[name] = d;
      total += d;
    }
  }
  return { total, byCommand };
}

/**
 * Read events Redis has processed (INFO stats `total_reads_processed`): one per batch of commands a client
 * writes, so with one request in flight the delta per request is its number of Redis round trips
 * (auto-pipelined commands share one).
 */
export async function readsProcessed(client: Redis): Promise<number> {
  return Number(infoFields(await client.info('stats')).get('total_reads_processed') ?? 0);
}

export async function usedMemory(client: Redis): Promise<number> {
  return Number(infoFields(await client.info('memory')).get('used_memory') ?? 0);
}

export async function keysUnder(client: Redis, prefix: string): Promise<Set<string>> {
  const keys = new Set<string>();
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const k of batch) keys.add(k);
  } while (cursor !== '0');
  return keys;
}

/** Sum of `MEMORY USAGE <key> SAMPLES 0` (exact) over the keys. */
export async function memoryOf(client: Redis, keys: Iterable<string>): Promise<number> {
  let bytes = 0;
  for (const key of keys) bytes += Number((await client.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
  return bytes;
}

export interface MonitorCount {
  /** Commands that arrived from a client connection: an upper bound on round trips. */
  fromClients: number;
  /** Commands run by Lua scripts (they cost no round trip). */
  fromScripts: number;
  byCommand: Record<string, number>;
  /** The first commands seen (name and first key, long ids as `*`; `lua>` marks commands run by a script). */
  sample: string[];
}

/**
 * Counts, with MONITOR, what Redis executes while `work` runs. MONITOR slows Redis down, so it is used only
 * for short sequential probes, never during a timed run.
 */
export async function monitorWhile(url: string, work: () => Promise<void>): Promise<MonitorCount> {
  const watcher = new Redis(url, { lazyConnect: true });
  await watcher.connect();
  const monitor = await watcher.monitor();
  const count: MonitorCount = { fromClients: 0, fromScripts: 0, byCommand: {}, sample: [] };
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    const name = String(args[0] ?? '').toLowerCase();
    if (OWN_COMMANDS.test(name)) return;
    if (count.sample.length < 80) {
      const key = name === 'evalsha' || name === 'eval' ? String(args[3] ?? '') : String(args[1] ?? '');
      count.sample.push(`${source === 'lua' ? 'lua> ' : ''}${name} ${key.replace(/[A-Za-z0-9_-]{20,}/g, '*')}`);
    }
    if (source === 'lua') count.fromScripts += 1;
    else {
      count.fromClients += 1;
      count.byCommand[name] = (count.byCommand[name] ?? 0) + 1;
    }
  });
  await sleep(50);
  try {
    await work();
    await sleep(50);
  } finally {
    monitor.disconnect();
    watcher.disconnect();
  }
  return count;
}
