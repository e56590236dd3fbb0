/**
 * Password logins: the argon2id ceiling (verifications/s with the configured parameters on libuv's pool) and
 * the login storm through the real pages (a driver process with N virtual users; also used by mixed.ts).
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
import { mean, median, percentile } from '../lib/stats.ts';
import type { Stack } from '../lib/stack.ts';
import { API_SCOPE } from './common.ts';
import type { BenchOptions, Row } from './types.ts';

interface Argon2Sample {
  engine: Engine;
  verifies: number;
  durationSec: number;
  rps: number;
  failures: number;
  cpuMsPerVerify: number;
}

export const ROUNDS = 3;

export function startStorm(
  stack: Stack,
  opts: BenchOptions,
  durationSec: number,
  rampSec: number,
): { done: Promise<StormSummary>; end(): void; stop(): Promise<void> } {
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

async function stormOnce(
  stack: Stack,
  opts: BenchOptions,
  durationSec: number,
  rampSec: number,
): Promise<StormSummary> {
  const storm = startStorm(stack, opts, durationSec, rampSec);
  try {
    return await storm.done;
  } finally {
    await storm.stop();
  }
}

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
  let redisCpu = 0;
  let driverCpu = 0;
  let completed = 0;
  const ghPid = stack.gatehouse.process.pid;
  const redisPid = stack.redis.child.process.pid;
  let redisByCommand: Record<string, number> = {};
  try {
    const argon2Run = (engine: Engine, durationSec: number) =>
      ask<Argon2Sample>(argon2, { ...stack.argon2, engine, durationSec, inFlight: pool * 2 });
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
      const [cpu0, redis0] = [cpuMs(ghPid), cpuMs(redisPid)];
      const s = await stormOnce(stack, opts, slice, 1);
      const [cpu1, redis1] = [cpuMs(ghPid), cpuMs(redisPid)];
      if (cpu0 !== undefined && cpu1 !== undefined) gatehouseCpu += cpu1 - cpu0;
      if (redis0 !== undefined && redis1 !== undefined) redisCpu += redis1 - redis0;
      driverCpu += s.driverCpuMs;
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
      'one login = GET /auth → sign-in page → POST form (argon2id) → resume (first-party client: consent given with the sign-in) → redirect with code; latency is the whole flow',
      `${l.length} slices of ${slice} s (after 1 s of ramp each): ${l.map((s) => s.rps.toFixed(1)).join(', ')} logins/s; ` +
        `ratios to the argon2 slices either side: ${ratios.map((r) => r.toFixed(2)).join(', ')} (median shown)`,
      ...(cpuPerLogin !== undefined
        ? [
            `Gatehouse CPU per login ${cpuPerLogin.toFixed(1)} ms (all threads), of which one argon2id verification ≈ ${cpuPerVerify.toFixed(1)} ms ` +
              `(the ceiling process's CPU per verify): by CPU, a login costs ${(cpuPerLogin / cpuPerVerify).toFixed(2)} verifications (ratio ${(cpuPerVerify / cpuPerLogin).toFixed(2)})`,
            `on the same cores, per login: the login driver (the "browsers") ${(driverCpu / completed).toFixed(1)} ms CPU, Redis ${(redisCpu / completed).toFixed(1)} ms`,
          ]
        : []),
      ...l.flatMap((s) => s.failureReasons.map((r) => `failure: ${r}`)),
    ],
    details: {
      slices: l.map(({ latencies: _, ...rest }) => rest),
      ratios,
      redisByCommand,
      ...(cpuPerLogin !== undefined
        ? {
            cpuRatio: cpuPerVerify / cpuPerLogin,
            driverCpuMsPerLogin: driverCpu / completed,
            redisCpuMsPerLogin: redisCpu / completed,
          }
        : {}),
    },
  };
  return [argon2Row, loginRow];
}
