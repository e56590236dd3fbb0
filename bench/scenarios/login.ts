/**
 * Password logins: the argon2id ceiling (verifications/s with the configured parameters on libuv's pool), the
 * login storm through the real pages (a driver process with N virtual users), and the mixed run — the storm and
 * the refresh chains at once — which shows whether hashing ever blocks the event loop (refresh p99 under the
 * storm vs idle).
 */
import type { StormSummary } from '../load/login-storm.ts';
import { ask, forkNode } from '../lib/processes.ts';
import { commandStats, statsDelta } from '../lib/redis.ts';
import type { Stack } from '../lib/stack.ts';
import { API_SCOPE } from './common.ts';
import { prepareChains, refresh, runChains } from './http.ts';
import type { BenchOptions, Row } from './types.ts';

export interface Argon2Ceiling {
  verifies: number;
  durationSec: number;
  rps: number;
  failures: number;
}

export async function argon2Ceiling(stack: Stack, opts: BenchOptions): Promise<{ row: Row; ceiling: Argon2Ceiling }> {
  const child = forkNode('argon2 ceiling', 'bench/ceilings/argon2-rate.ts');
  try {
    const pool = Number(process.env.UV_THREADPOOL_SIZE) || 4;
    const ceiling = await ask<Argon2Ceiling>(child, { ...stack.argon2, durationSec: opts.durationSec, inFlight: pool * 2 });
    const row: Row = {
      id: 'argon2',
      title: `ceiling: argon2id verify (${stack.settings.ARGON2})`,
      rps: ceiling.rps,
      p50: Number.NaN,
      p99: Number.NaN,
      max: Number.NaN,
      requests: ceiling.verifies,
      errors: ceiling.failures,
      non2xx: 0,
      notes: [`the login ceiling: the argon2 binding on libuv's pool (${pool} threads), ${pool * 2} verifications in flight`],
      details: { ...ceiling },
    };
    return { row, ceiling };
  } finally {
    await child.stop();
  }
}

export function startStorm(stack: Stack, opts: BenchOptions, durationSec: number): { done: Promise<StormSummary>; end(): void; stop(): Promise<void> } {
  const child = forkNode('login storm', 'bench/load/login-storm.ts');
  const done = ask<StormSummary>(child, {
    endpoints: stack.endpoints,
    client: stack.web,
    user: stack.user,
    scope: API_SCOPE,
    users: opts.loginUsers,
    durationSec,
  });
  return { done, end: () => child.process.send({ cmd: 'stop' }), stop: () => child.stop() };
}

function stormRow(id: string, title: string, s: StormSummary, redisPerLogin: number): Row {
  return {
    id,
    title,
    rps: s.rps,
    p50: s.p50,
    p99: s.p99,
    max: s.max,
    requests: s.logins,
    errors: s.failures,
    non2xx: 0,
    redisCommandsPerRequest: redisPerLogin,
    notes: s.failureReasons.map((r) => `failure: ${r}`),
    details: { ...s },
  };
}

/** The timed login storm; its ratio to the argon2 ceiling (and so `met`) is set by the caller, who has the ceiling. */
export async function login(stack: Stack, opts: BenchOptions): Promise<Row> {
  // Warm the pages and the pool briefly (not measured), then the timed storm.
  const warm = startStorm(stack, { ...opts }, Math.min(2, opts.warmupSec));
  await warm.done;
  await warm.stop();
  const before = await commandStats(stack.redis.client);
  const storm = startStorm(stack, opts, opts.durationSec);
  const s = await storm.done;
  await storm.stop();
  const delta = statsDelta(before, await commandStats(stack.redis.client));
  const row = stormRow('login', `password login through the pages (${opts.loginUsers} virtual users)`, s, s.logins ? delta.total / s.logins : 0);
  row.notes.push('one login = GET /auth → sign-in page → POST form (argon2id) → consent step → redirect with code; latency is the whole flow');
  row.details = { ...row.details, redisByCommand: delta.byCommand };
  row.target = '>= 90% of the argon2 ceiling';
  return row;
}

/** Refresh chains (fresh grants) while a login storm runs; compared with the idle refresh p99. */
export async function mixed(stack: Stack, opts: BenchOptions, idle: Row | undefined): Promise<{ rows: Row[] }> {
  const rows: Row[] = [];
  let idleRow = idle;
  if (!idleRow) {
    idleRow = (await refresh(stack, opts, 'mixed-idle', 'refresh, idle (baseline for the mixed run)')).row;
    rows.push(idleRow);
  }
  // Chains are prepared before the storm; the storm starts, settles for a second, and is stopped when the
  // refresh run ends, so every timed refresh runs under it. No MONITOR probe here: it would count the storm's too.
  const chains = await prepareChains(stack, opts);
  const storm = startStorm(stack, opts, 3600);
  await new Promise((r) => setTimeout(r, 1000));
  const under = { row: await runChains(stack, opts, chains, 'mixed-refresh', 'mixed: refresh during the login storm', false) };
  storm.end();
  const s = await storm.done;
  await storm.stop();
  const ratio = under.row.p99 / idleRow.p99;
  under.row.ratio = { value: ratio, to: 'idle refresh p99' };
  under.row.target = 'p99 <= 2x idle refresh p99';
  under.row.met = ratio <= 2;
  under.row.notes.push(
    `refresh p99 ${under.row.p99.toFixed(1)} ms under the storm vs ${idleRow.p99.toFixed(1)} ms idle: ${ratio.toFixed(2)}x; ` +
      `the storm ran from 1 s before the refresh warm-up to the end of the timed run (${s.rps.toFixed(1)} logins/s)`,
  );
  rows.push(under.row);
  const stormR = stormRow('mixed-logins', `mixed: logins during the refresh run (${opts.loginUsers} virtual users)`, s, Number.NaN);
  delete stormR.redisCommandsPerRequest;
  rows.push(stormR);
  return { rows };
}
