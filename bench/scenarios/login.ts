/**
 * Password logins: the argon2id ceiling (verifications/s with the configured parameters on libuv's pool), the
 * login storm through the real pages (a driver process with N virtual users), and the mixed run — the storm and
 * refresh chains at once — which shows whether hashing ever starves the event loop (refresh p99 under the storm
 * vs idle, measured back to back).
 *
 * Rules: on a shared machine a ceiling measured minutes apart from its scenario says little, so the argon2
 * ceiling and the login storm are measured in alternating slices (A L A L A L A) and each login slice is compared
 * with the mean of the argon2 slices either side; the reported ratio is the median of those paired ratios.
 */
import type { Engine } from '../ceilings/argon2-rate.ts';
import type { StormSummary } from '../load/login-storm.ts';
import { cpuMs } from '../lib/cpu.ts';
import { ask, forkNode } from '../lib/processes.ts';
import { commandStats, statsDelta } from '../lib/redis.ts';
import { percentile } from '../lib/stats.ts';
import type { Stack } from '../lib/stack.ts';
import { API_SCOPE } from './common.ts';
import { prepareChains, runChains } from './http.ts';
import type { BenchOptions, Row } from './types.ts';

interface Argon2Sample {
  engine: Engine;
  verifies: number;
  durationSec: number;
  rps: number;
  failures: number;
  cpuMsPerVerify: number;
}

const ROUNDS = 3;

export function startStorm(stack: Stack, opts: BenchOptions, durationSec: number, rampSec: number): { done: Promise<StormSummary>; end(): void; stop(): Promise<void> } {
  const child = forkNode('login storm', 'bench/load/login-storm.ts');
  const done = ask<StormSummary>(child, {
    endpoints: stack.endpoints,
    client: stack.web,
    user: stack.user,
    scope: API_SCOPE,
    users: opts.loginUsers,
    durationSec,
    rampSec,
  });
  return { done, end: () => child.process.send({ cmd: 'stop' }), stop: () => child.stop() };
}

async function stormOnce(stack: Stack, opts: BenchOptions, durationSec: number, rampSec: number): Promise<StormSummary> {
  const storm = startStorm(stack, opts, durationSec, rampSec);
  try {
    return await storm.done;
  } finally {
    await storm.stop();
  }
}

const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The `argon2` ceiling row and the `login` row, measured in alternating slices. */
export async function loginVsArgon2(stack: Stack, opts: BenchOptions): Promise<Row[]> {
  const slice = Math.max(3, Math.round(opts.durationSec / 2));
  const pool = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  const argon2 = forkNode('argon2 ceiling', 'bench/ceilings/argon2-rate.ts');
  const a: Argon2Sample[] = [];
  const engines: Argon2Sample[] = [];
  const l: StormSummary[] = [];
  let redisPerLogin = 0;
  let gatehouseCpu = 0;
  let completed = 0;
  const ghPid = stack.gatehouse.process.pid;
  let redisByCommand: Record<string, number> = {};
  try {
    const argon2Run = (engine: Engine, durationSec: number) => ask<Argon2Sample>(argon2, { ...stack.argon2, engine, durationSec, inFlight: pool * 2 });
    // Pick the faster engine for this machine (short runs of each; the package alone where Node lacks crypto.argon2).
    for (const engine of ['argon2-package', 'node-crypto'] as const) {
      try {
        engines.push(await argon2Run(engine, Math.min(3, slice)));
      } catch (err) {
        if (engine === 'argon2-package') throw err;
      }
    }
    const fastest = engines.reduce((x, y) => (y.rps > x.rps ? y : x)).engine;
    const sampleArgon2 = () => argon2Run(fastest, slice);
    // Warm the pages, the provider and the pool (not measured).
    await stormOnce(stack, opts, Math.min(2, opts.warmupSec), 0);
    a.push(await sampleArgon2());
    for (let i = 0; i < ROUNDS; i++) {
      const before = await commandStats(stack.redis.client);
      const cpu0 = cpuMs(ghPid);
      const s = await stormOnce(stack, opts, slice, 1);
      const cpu1 = cpuMs(ghPid);
      if (cpu0 !== undefined && cpu1 !== undefined) gatehouseCpu += cpu1 - cpu0;
      completed += s.completed;
      const delta = statsDelta(before, await commandStats(stack.redis.client));
      if (i === 0) {
        // Commands of the whole storm (ramp included) over every login it finished.
        redisPerLogin = delta.total / Math.max(1, s.completed);
        redisByCommand = delta.byCommand;
      }
      l.push(s);
      a.push(await sampleArgon2());
    }
  } finally {
    await argon2.stop();
  }
  const ratios = l.map((s, i) => s.rps / mean([(a[i] as Argon2Sample).rps, (a[i + 1] as Argon2Sample).rps]));
  const latencies = l.flatMap((s) => s.latencies).sort((x, y) => x - y);
  const logins = l.reduce((n, s) => n + s.logins, 0);
  const loginSeconds = l.reduce((n, s) => n + s.durationSec, 0);
  const argon2Row: Row = {
    id: 'argon2',
    title: `ceiling: argon2id verify (${stack.settings.ARGON2})`,
    rps: mean(a.map((s) => s.rps)),
    p50: Number.NaN,
    p99: Number.NaN,
    max: Number.NaN,
    requests: a.reduce((n, s) => n + s.verifies, 0),
    errors: a.reduce((n, s) => n + s.failures, 0),
    non2xx: 0,
    notes: [
      `the login ceiling: ${a[0]?.engine} on libuv's pool (${pool} threads), ${pool * 2} verifications in flight; ` +
        `engines tried: ${engines.map((e) => `${e.engine} ${e.rps.toFixed(1)}/s, ${e.cpuMsPerVerify.toFixed(1)} ms CPU per verify`).join('; ')}`,
      `${a.length} slices of ${slice} s alternating with the login slices: ${a.map((s) => s.rps.toFixed(1)).join(', ')} /s (mean shown)`,
    ],
    details: { samples: a, engines },
  };
  const failures = l.reduce((n, s) => n + s.failures, 0);
  const cpuPerLogin = completed > 0 && gatehouseCpu > 0 ? gatehouseCpu / completed : undefined;
  const cpuPerVerify = mean(a.map((s) => s.cpuMsPerVerify));
  argon2Row.serverCpuMs = cpuPerVerify;
  const loginRow: Row = {
    id: 'login',
    title: `password login through the pages (${opts.loginUsers} virtual users)`,
    rps: logins / loginSeconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies.at(-1) ?? 0,
    requests: logins,
    errors: failures,
    non2xx: 0,
    redisCommandsPerRequest: redisPerLogin,
    ...(cpuPerLogin !== undefined ? { serverCpuMs: cpuPerLogin } : {}),
    ratio: { value: median(ratios), to: 'argon2' },
    target: '>= 90% of the argon2 ceiling',
    met: median(ratios) >= 0.9,
    notes: [
      'one login = GET /auth → sign-in page → POST form (argon2id) → consent step → redirect with code; latency is the whole flow',
      `${l.length} slices of ${slice} s (after 1 s of ramp each): ${l.map((s) => s.rps.toFixed(1)).join(', ')} logins/s; ` +
        `ratios to the argon2 slices either side: ${ratios.map((r) => r.toFixed(2)).join(', ')} (median shown)`,
      ...(cpuPerLogin !== undefined
        ? [
            `Gatehouse CPU per login ${cpuPerLogin.toFixed(1)} ms (all threads), of which one argon2id verification ≈ ${cpuPerVerify.toFixed(1)} ms ` +
              `(the ceiling process's CPU per verify): by CPU, a login costs ${(cpuPerLogin / cpuPerVerify).toFixed(2)} verifications (ratio ${(cpuPerVerify / cpuPerLogin).toFixed(2)})`,
          ]
        : []),
      ...l.flatMap((s) => s.failureReasons.map((r) => `failure: ${r}`)),
    ],
    details: {
      slices: l.map(({ latencies: _, ...rest }) => rest),
      ratios,
      redisByCommand,
      ...(cpuPerLogin !== undefined ? { cpuRatio: cpuPerVerify / cpuPerLogin } : {}),
    },
  };
  return [argon2Row, loginRow];
}

/** Combines per-round rows into one: summed requests and errors, mean rate, median p50/p99, largest max. */
function combine(rounds: Row[], id: string, title: string): Row {
  const first = rounds[0] as Row;
  return {
    ...first,
    id,
    title,
    rps: mean(rounds.map((r) => r.rps)),
    p50: median(rounds.map((r) => r.p50)),
    p99: median(rounds.map((r) => r.p99)),
    max: Math.max(...rounds.map((r) => r.max)),
    requests: rounds.reduce((n, r) => n + r.requests, 0),
    errors: rounds.reduce((n, r) => n + r.errors, 0),
    non2xx: rounds.reduce((n, r) => n + r.non2xx, 0),
    ...(first.redisCommandsPerRequest !== undefined ? { redisCommandsPerRequest: mean(rounds.map((r) => r.redisCommandsPerRequest ?? 0)) } : {}),
    ...(first.serverCpuMs !== undefined ? { serverCpuMs: mean(rounds.map((r) => r.serverCpuMs ?? 0)) } : {}),
    notes: [],
    details: { rounds: rounds.map((r) => ({ rps: r.rps, p50: r.p50, p99: r.p99, max: r.max, requests: r.requests, details: r.details })) },
  };
}

/**
 * In each of 3 rounds: 16 fresh refresh chains rotate alone (idle), then at once the login storm starts and,
 * after a second, 16 other fresh chains rotate under it; the storm stops when that run ends. Chains are made
 * before each round's runs. Each round gives a p99 ratio (storm / idle, measured seconds apart); the median
 * ratio is reported, so a burst of outside load in one run does not decide the result.
 */
export async function mixed(stack: Stack, opts: BenchOptions): Promise<Row[]> {
  const run = { ...opts, durationSec: Math.max(3, Math.round(opts.durationSec / 2)) };
  const idles: Row[] = [];
  const unders: Row[] = [];
  const storms: StormSummary[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const idleChains = await prepareChains(stack, run);
    const stormChains = await prepareChains(stack, run);
    idles.push(await runChains(stack, run, idleChains, 'mixed-idle', 'idle', false));
    const storm = startStorm(stack, run, 3600, 0);
    try {
      await new Promise((r) => setTimeout(r, 1000));
      // No MONITOR probe here: it would count the storm's commands too.
      unders.push(await runChains(stack, run, stormChains, 'mixed-refresh', 'storm', false));
      storm.end();
      storms.push(await storm.done);
    } finally {
      await storm.stop();
    }
  }
  const ratios = unders.map((u, i) => u.p99 / (idles[i] as Row).p99);
  const idle = combine(idles, 'mixed-idle', 'mixed: refresh alone, just before each storm');
  const under = combine(unders, 'mixed-refresh', 'mixed: refresh during the login storm');
  // Gatehouse's CPU during the storm runs is the logins' as much as the refreshes'.
  delete under.serverCpuMs;
  const ratio = median(ratios);
  under.ratio = { value: ratio, to: 'idle refresh p99' };
  under.target = 'p99 <= 2x idle refresh p99';
  under.met = ratio <= 2;
  idle.notes.push(`${ROUNDS} runs of ${run.durationSec} s, 16 fresh chains each; p99s ${idles.map((r) => r.p99.toFixed(1)).join(', ')} ms (median shown)`);
  under.notes.push(
    `${ROUNDS} runs of ${run.durationSec} s, each right after its idle run, under a storm of ${opts.loginUsers} virtual users started 1 s before its warm-up; ` +
      `p99s ${unders.map((r) => r.p99.toFixed(1)).join(', ')} ms; ratios to the idle run just before: ${ratios.map((r) => r.toFixed(2)).join(', ')} (median shown)`,
  );
  const logins = storms.reduce((n, x) => n + x.logins, 0);
  const seconds = storms.reduce((n, x) => n + x.durationSec, 0);
  const latencies = storms.flatMap((x) => x.latencies).sort((x, y) => x - y);
  const loginRow: Row = {
    id: 'mixed-logins',
    title: `mixed: logins during the refresh runs (${opts.loginUsers} virtual users)`,
    rps: logins / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies.at(-1) ?? 0,
    requests: logins,
    errors: storms.reduce((n, x) => n + x.failures, 0),
    non2xx: 0,
    notes: storms.flatMap((x) => x.failureReasons.map((r) => `failure: ${r}`)),
    details: { rounds: storms.map(({ latencies: _, ...rest }) => rest) },
  };
  return [idle, under, loginRow];
}
