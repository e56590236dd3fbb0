/**
 * The mixed run: the login storm and refresh-token rotation at once, which shows whether hashing ever starves
 * the event loop — refresh p99 under the storm vs alone, measured seconds apart in each of 3 rounds.
 */
import type { StormSummary } from '../load/login-storm.ts';
import { mean, median, percentile } from '../lib/stats.ts';
import type { Stack } from '../lib/stack.ts';
import { prepareChains, runChains } from './http.ts';
import { ROUNDS, startStorm } from './login.ts';
import type { BenchOptions, Row } from './types.ts';

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
    ...(first.redisCommandsPerRequest !== undefined
      ? { redisCommandsPerRequest: mean(rounds.map((r) => r.redisCommandsPerRequest ?? 0)) }
      : {}),
    ...(first.serverCpuMs !== undefined ? { serverCpuMs: mean(rounds.map((r) => r.serverCpuMs ?? 0)) } : {}),
    notes: [],
    details: {
      rounds: rounds.map((r) => ({
        rps: r.rps,
        p50: r.p50,
        p99: r.p99,
        max: r.max,
        requests: r.requests,
        details: r.details,
      })),
    },
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
  idle.notes.push(
    `${ROUNDS} runs of ${run.durationSec} s, 16 fresh chains each; p99s ${idles.map((r) => r.p99.toFixed(1)).join(', ')} ms (median shown)`,
  );
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
