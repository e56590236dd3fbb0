/**
 * Two Gatehouse instances on one Redis Cluster (3 masters on loopback, bench/lib/redis-cluster.ts), shipped
 * defaults: does refresh throughput add up across instances, and does any request need a cross-slot operation?
 *
 * Runs: instance A alone (16 chains, 16 connections), then A and B at once, each with its own load generator
 * and 16 chains; B's chains are logins made through A, so every refresh on B reads what A wrote. Reported: the
 * rate of each run, the sum over the instances against A alone, CPU per request of each instance, and the
 * CROSSSLOT and MOVED error replies of every master during the timed runs (INFO errorstats), which must be 0.
 *
 * On a machine with few cores the instances, the load generators and the masters share them, so the sum cannot
 * reach twice the single rate; CPU per request staying flat is what shows the instances scale with cores.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { cpuMs } from '../lib/cpu.ts';
import { LoadProcess } from '../lib/load-process.ts';
import { basicAuth, loginAndExchange } from '../lib/oauth.ts';
import { startRedisCluster } from '../lib/redis-cluster.ts';
import { makeIdentity, startGatehouse, type Target } from '../lib/stack.ts';
import { API_SCOPE, pool } from './common.ts';
import type { BenchOptions, Row } from './types.ts';

async function errorStats(clients: Redis[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const c of clients) {
    for (const [, error, count] of (await c.info('errorstats')).matchAll(/^errorstat_([A-Z]+):count=(\d+)/gm)) {
      if (error !== undefined) out[error] = (out[error] ?? 0) + Number(count);
    }
  }
  return out;
}

/** failed_calls + rejected_calls per command over the masters (INFO commandstats): which command got the errors. */
async function failedCalls(clients: Redis[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const c of clients) {
    for (const [, command, rejected, failed] of (await c.info('commandstats')).matchAll(
      /^cmdstat_([^:]+):.*rejected_calls=(\d+),failed_calls=(\d+)/gm,
    )) {
      if (command !== undefined) out[command] = (out[command] ?? 0) + Number(rejected) + Number(failed);
    }
  }
  return out;
}

/**
 * Error-level lines (pino level >= 50) in Gatehouse's log files: how many, and the distinct messages (the log's own
 * `msg` and `err.message`, which by Gatehouse's logging rules carry no secret), at most a few.
 */
function logErrors(files: string[]): { count: number; messages: string[] } {
  let count = 0;
  const messages = new Set<string>();
  for (const file of files) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const entry = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
        if ((entry.level ?? 0) < 50) continue;
        count += 1;
        if (messages.size < 5)
          messages.add(`${entry.msg ?? ''}${entry.err?.message ? `: ${entry.err.message}` : ''}`.slice(0, 240));
      } catch {
        // a partial last line
      }
    }
  }
  return { count, messages: [...messages] };
}

async function chains(via: Target, n: number): Promise<string[]> {
  return pool(n, 4, async () => {
    const { tokens } = await loginAndExchange(via.endpoints, via.web, via.user, API_SCOPE);
    if (!tokens.refresh_token) throw new Error('the code exchange gave no refresh token');
    return tokens.refresh_token;
  });
}

interface RunResult {
  target: string;
  rps: number;
  requests: number;
  errors: number;
  non2xx: number;
  p50: number;
  p99: number;
  max: number;
  serverCpuMs?: number;
}

/** Warm-up and timed run of refresh chains on each target at once (one load generator each). */
async function refreshOn(
  targets: Array<{ target: Target; chains: string[] }>,
  opts: BenchOptions,
): Promise<RunResult[]> {
  const lps = await Promise.all(
    targets.map(({ target, chains: c }) =>
      LoadProcess.start({
        url: target.endpoints.token,
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(target.web) },
        mode: 'chain',
        chains: c,
      }),
    ),
  );
  try {
    await Promise.all(lps.map((lp) => lp.run(opts.connections, { amount: opts.connections * 20 })));
    const cpu0 = targets.map(({ target }) => cpuMs(target.server.process.pid));
    const runs = await Promise.all(lps.map((lp) => lp.run(opts.connections, { durationSec: opts.durationSec })));
    const cpu1 = targets.map(({ target }) => cpuMs(target.server.process.pid));
    return runs.map((r, i) => {
      const [a, b] = [cpu0[i], cpu1[i]];
      return {
        target: (targets[i] as { target: Target }).target.name,
        rps: r.rps,
        requests: r.requests,
        errors: r.errors + r.bad,
        non2xx: r.non2xx,
        p50: r.p50,
        p99: r.p99,
        max: r.max,
        ...(a !== undefined && b !== undefined && r.requests > 0 ? { serverCpuMs: (b - a) / r.requests } : {}),
      };
    });
  } finally {
    await Promise.all(lps.map((lp) => lp.close()));
  }
}

export async function twoInstancesOnCluster(opts: BenchOptions): Promise<Row[]> {
  const cluster = await startRedisCluster();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-cluster-'));
  const started: Array<{ stop(): Promise<void> }> = [];
  const masters = cluster.ports.map((port) => new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1 }));
  try {
    const identity = await makeIdentity();
    const settings = {
      REDIS_MODE: 'cluster',
      REDIS_CLUSTER_NODES: cluster.nodes.join(','),
      LOG_LEVEL: 'info',
      METRICS_ENABLED: 'true',
    };
    const logs: string[] = [];
    const logFile = (name: string) => {
      const file = join(dir, `${name}.log`);
      closeSync(openSync(file, 'w'));
      logs.push(file);
      return file;
    };
    const a = await startGatehouse(identity, { name: 'gatehouse-a', settings, seed: true, logFile: logFile('a') });
    started.push(a);
    const b = await startGatehouse(identity, { name: 'gatehouse-b', settings, seed: false, logFile: logFile('b') });
    started.push(b);
    const [alone, withA, withB] = await Promise.all([
      chains(a, opts.connections),
      chains(a, opts.connections),
      chains(a, opts.connections),
    ]);

    const err0 = await errorStats(masters);
    const failed0 = await failedCalls(masters);
    const load0 = os.loadavg()[0] as number;
    const [single] = (await refreshOn([{ target: a, chains: alone }], opts)) as [RunResult];
    const load1 = os.loadavg()[0] as number;
    const both = await refreshOn(
      [
        { target: a, chains: withA },
        { target: b, chains: withB },
      ],
      opts,
    );
    const err1 = await errorStats(masters);
    const failed1 = await failedCalls(masters);
    const failedBy = Object.entries(failed1)
      .map(([k, v]) => [k, v - (failed0[k] ?? 0)] as const)
      .filter(([, v]) => v > 0);
    const delta = (name: string) => (err1[name] ?? 0) - (err0[name] ?? 0);
    const crossSlot = delta('CROSSSLOT');
    const moved = delta('MOVED');
    const otherErrors = Object.keys(err1)
      .filter((k) => k !== 'CROSSSLOT' && k !== 'MOVED' && delta(k) > 0)
      .map((k) => `${k} ${delta(k)}`);
    const logged = logErrors(logs);
    const sum = both.reduce((n, r) => n + r.rps, 0);
    const rowOf = (id: string, title: string, r: RunResult): Row => ({
      id,
      title,
      rps: r.rps,
      p50: r.p50,
      p99: r.p99,
      max: r.max,
      requests: r.requests,
      errors: r.errors,
      non2xx: r.non2xx,
      ...(r.serverCpuMs !== undefined ? { serverCpuMs: r.serverCpuMs } : {}),
      notes: [],
    });
    const singleRow = rowOf('cluster-1', 'Redis Cluster (3 masters): refresh on one Gatehouse instance', single);
    singleRow.notes.push(`load average (1 min) before the run ${load0.toFixed(2)}`);
    const bothRow: Row = {
      ...rowOf('cluster-2', 'Redis Cluster (3 masters): refresh on two Gatehouse instances at once (sum)', {
        target: 'a+b',
        rps: sum,
        requests: both.reduce((n, r) => n + r.requests, 0),
        errors: both.reduce((n, r) => n + r.errors, 0),
        non2xx: both.reduce((n, r) => n + r.non2xx, 0),
        p50: Math.max(...both.map((r) => r.p50)),
        p99: Math.max(...both.map((r) => r.p99)),
        max: Math.max(...both.map((r) => r.max)),
      }),
      ratio: { value: sum / single.rps, to: 'one instance' },
      target: '0 CROSSSLOT, 0 MOVED',
      met: crossSlot === 0 && moved === 0,
    };
    bothRow.notes.push(
      `per instance: ${both.map((r) => `${r.target} ${r.rps.toFixed(0)} req/s, ${r.serverCpuMs?.toFixed(3) ?? '-'} ms CPU/req`).join('; ')} ` +
        `(one instance alone: ${single.serverCpuMs?.toFixed(3) ?? '-'} ms CPU/req); B's chains were logins made through A`,
      `error replies of the 3 masters during both runs: CROSSSLOT ${crossSlot}, MOVED ${moved}${otherErrors.length ? `, other: ${otherErrors.join(', ')}` : ''}` +
        `${failedBy.length ? ` (failed or rejected calls by command: ${failedBy.map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}`,
      `error lines in the instances' logs: ${logged.count}${logged.messages.length ? ` (${logged.messages.join(' | ')})` : ''}`,
      `load average (1 min) before the run ${load1.toFixed(2)}; ${os.cpus().length} cores shared by 2 instances, 2 load generators and 3 masters: the sum is capped by them`,
    );
    bothRow.details = {
      perInstance: both,
      single,
      errorStatsDelta: Object.fromEntries(Object.keys(err1).map((k) => [k, delta(k)])),
      failedCalls: Object.fromEntries(failedBy),
    };
    return [singleRow, bothRow];
  } finally {
    for (const m of masters) m.disconnect();
    for (const s of started.reverse()) await s.stop();
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
