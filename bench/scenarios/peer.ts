/**
 * Gatehouse against the peer (bench/peer/: plain oidc-provider with a straightforward Redis adapter), measured in
 * the same run and reported as ratios Gatehouse / peer.
 *
 * Three servers, each with its own redis-server and the run's shared keys, user and clients:
 * - `gatehouse`: the shipped defaults — info access log and audit lines on stdout (written to a file, as a
 *   deployment pipes them), metrics on, rate limits on (raised, so the one load generator is not throttled);
 * - `gatehouse-quiet`: the same with LOG_LEVEL=warn and METRICS_ENABLED=false (no access log, audit or metrics),
 *   for the refresh row only: what observability costs;
 * - `peer`.
 * With BENCH_BASELINE (a checkout of another commit, with its node_modules) the second Gatehouse is instead that
 * checkout with the shipped defaults, in every scenario: what a change bought, measured in the same rounds.
 *
 * Rules:
 * - Paired rounds (BENCH_PEER_ROUNDS, default 3): each round runs every server once, in alternating order; the
 *   ratio reported is the median of the per-round ratios, so a burst of outside load in one run moves one pair,
 *   not the result. The 1-minute load average is recorded with every run.
 * - Redis CPU and commands per refresh come from a separate sequential phase (one connection, BENCH_SEQUENTIAL
 *   refreshes), so they are per request and do not depend on load: INFO cpu (used_cpu_sys + used_cpu_user) and,
 *   after CONFIG RESETSTAT, the sum of INFO commandstats calls (commands run inside scripts included).
 * - Storage per login: SCAN of the whole Redis right before one login, then after 10 and 10,000 rotations of its
 *   refresh token; the login's keys are the new ones less rate-limit / login-throttle counters, summed with
 *   MEMORY USAGE. Nothing else runs meanwhile.
 */
import { openSync, closeSync, mkdtempSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { startPeer } from '../peer/start.ts';
import { cpuMs } from '../lib/cpu.ts';
import { jwtAlg, tokenRequest } from '../lib/oauth.ts';
import { commandStats, keysUnder, memoryOf, startRedis } from '../lib/redis.ts';
import { median } from '../lib/stats.ts';
import { makeIdentity, type Stack, stackFor, startGatehouse, type Target } from '../lib/stack.ts';
import { API_SCOPE, freshGrants, refreshChain, USERINFO_SCOPE } from './common.ts';
import { authorizationCode, clientCredentials, introspection, refresh, userinfo } from './http.ts';
import type { BenchOptions, Row } from './types.ts';

export const PEER_SCENARIOS = [
  'peer-refresh',
  'peer-authorization-code',
  'peer-client-credentials',
  'peer-userinfo',
  'peer-introspection',
  'peer-memory',
] as const;
export type PeerScenario = (typeof PEER_SCENARIOS)[number];

/** Rotations after which one login's storage is measured. */
export const LOGIN_CHECKPOINTS = [10, 10_000] as const;

export interface PeerOptions {
  rounds: number;
  /** Refreshes in the sequential phase (Redis CPU and commands per refresh). */
  sequential: number;
  /** BENCH_BASELINE: the checkout the second Gatehouse runs instead of the quiet one. */
  baseline?: string;
}

/** One figure of both servers: Gatehouse's, the peer's and their ratio. */
export interface Comparison {
  scenario: PeerScenario;
  metric: string;
  unit: string;
  /** Which direction is better for Gatehouse. */
  better: 'higher' | 'lower';
  gatehouse: number;
  peer: number;
  /** gatehouse / peer: the median of the per-round ratios when there are rounds. */
  ratio: number;
  /** The same figure of the second Gatehouse (quiet, or the baseline checkout), where measured. */
  quiet?: number;
  quietRatio?: number;
  /** Per-round values and load averages. */
  rounds?: Array<{ gatehouse: number; peer: number; quiet?: number; load1: number[] }>;
}

export interface PeerTargets {
  gatehouse: Target;
  /** The second Gatehouse: access log, audit and metrics off, or the baseline checkout (`baseline`). */
  quiet: Target;
  baseline?: string;
  peer: Target;
  logFile: string;
  stop(): Promise<void>;
}

export async function startPeerTargets(baseline?: string): Promise<PeerTargets> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-log-'));
  const logFile = join(dir, 'gatehouse.log');
  closeSync(openSync(logFile, 'w'));
  const started: Array<{ stop(): Promise<void> }> = [];
  const stop = async () => {
    for (const s of started.reverse()) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const identity = await makeIdentity();
    const ghRedis = await startRedis();
    started.push(ghRedis);
    const gatehouse = await startGatehouse(identity, {
      name: 'gatehouse',
      settings: { LOG_LEVEL: 'info', METRICS_ENABLED: 'true' },
      redis: ghRedis,
      seed: true,
      logFile,
      // BENCH_CPU_PROF=1: a V8 CPU profile of this instance too, written when it stops.
      ...(process.env.BENCH_CPU_PROF
        ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${join(tmpdir(), 'gatehouse-bench-profile-peer')}`] }
        : {}),
    });
    started.push(gatehouse);
    const quietRedis = await startRedis();
    started.push(quietRedis);
    const quiet = await startGatehouse(
      identity,
      baseline
        ? {
            name: 'gatehouse-baseline',
            settings: { LOG_LEVEL: 'info', METRICS_ENABLED: 'true' },
            redis: quietRedis,
            seed: true,
            logFile: join(dir, 'baseline.log'),
            checkout: baseline,
          }
        : {
            name: 'gatehouse-quiet',
            settings: { LOG_LEVEL: 'warn', METRICS_ENABLED: 'false' },
            redis: quietRedis,
            seed: true,
          },
    );
    started.push(quiet);
    const peer = await startPeer(identity, gatehouse.config);
    started.push(peer);
    await assertSameTokens([gatehouse, peer]);
    return { gatehouse, quiet, ...(baseline ? { baseline } : {}), peer, logFile, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

const load1 = () => os.loadavg()[0] as number;

/** The `typ` and `alg` of a JWT's header, or "opaque". */
function tokenShape(token: string | undefined): string {
  const alg = jwtAlg(token);
  if (alg === 'opaque' || alg === 'none') return alg;
  const [header = ''] = String(token).split('.');
  const head = JSON.parse(Buffer.from(header, 'base64url').toString()) as {
    typ?: string;
  };
  return `${head.typ ?? 'JWT'} ${alg}`;
}

/** Refuses to compare servers that issue different tokens for the bench's requests (formats and algorithms). */
async function assertSameTokens(targets: Target[]): Promise<void> {
  const shapes = await Promise.all(
    targets.map(async (t) => {
      const view = { endpoints: t.endpoints, web: t.web, user: t.user } as Stack;
      const [api] = await freshGrants(view, 1, API_SCOPE);
      const [plain] = await freshGrants(view, 1, USERINFO_SCOPE);
      const cc = await tokenRequest(t.endpoints, t.service, { grant_type: 'client_credentials', scope: 'api:read' });
      return JSON.stringify({
        idToken: tokenShape(api?.tokens.id_token),
        apiAccessToken: tokenShape(api?.tokens.access_token),
        refreshToken: api?.tokens.refresh_token ? 'opaque' : 'none',
        userinfoAccessToken: tokenShape(plain?.tokens.access_token),
        clientCredentials: tokenShape(cc.access_token),
      });
    }),
  );
  if (new Set(shapes).size !== 1)
    throw new Error(
      `the servers issue different tokens: ${targets.map((t, i) => `${t.name} ${shapes[i]}`).join('; ')}`,
    );
}

async function redisCpuSeconds(client: Redis): Promise<number> {
  const info = await client.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return field('used_cpu_sys') + field('used_cpu_user');
}

export interface Sequential {
  refreshes: number;
  redisCpuUsPerRefresh: number;
  redisCommandsPerRefresh: number;
  byCommand: Record<string, number>;
  serverCpuMsPerRefresh?: number;
}

/** One login, then `n` sequential refreshes on one connection with Redis's CPU and commands read around them. */
export async function sequentialRefresh(stack: Stack, n: number): Promise<Sequential> {
  const client = stack.redis.client;
  const lp = await refreshChain(stack);
  try {
    await lp.run(1, { amount: 20 });
    // Redis spends CPU on its own timers (expiry, cron) whether or not requests come: measured alone for a second
    // and subtracted, so that a slower server is not charged for Redis's idle work during its longer phase.
    const idle0 = await redisCpuSeconds(client);
    const idleStarted = performance.now();
    await new Promise((r) => setTimeout(r, 1000));
    const idleRate = ((await redisCpuSeconds(client)) - idle0) / ((performance.now() - idleStarted) / 1000);
    await client.config('RESETSTAT');
    const cpu0 = await redisCpuSeconds(client);
    const started = performance.now();
    const server0 = cpuMs(stack.gatehouse.process.pid);
    const s = await lp.run(1, { amount: n });
    const server1 = cpuMs(stack.gatehouse.process.pid);
    const cpu1 = (await redisCpuSeconds(client)) - idleRate * ((performance.now() - started) / 1000);
    const stats = await commandStats(client);
    if (s.errors + s.bad + s.non2xx > 0)
      throw new Error(
        `sequential refresh: ${s.errors} errors, ${s.bad} bad, ${s.non2xx} non-2xx ${JSON.stringify(s.statuses)}`,
      );
    let total = 0;
    const byCommand: Record<string, number> = {};
    for (const [name, calls] of stats) {
      if (calls <= 0) continue;
      byCommand[name] = calls / s.requests;
      total += calls;
    }
    return {
      refreshes: s.requests,
      redisCpuUsPerRefresh: ((cpu1 - cpu0) * 1e6) / s.requests,
      redisCommandsPerRefresh: total / s.requests,
      byCommand,
      ...(server0 !== undefined && server1 !== undefined
        ? { serverCpuMsPerRefresh: (server1 - server0) / s.requests }
        : {}),
    };
  } finally {
    await lp.close();
  }
}

export interface LoginStorage {
  rotations: number;
  keys: number;
  bytes: number;
  /** Key names with their random ids replaced by `*`, and how many keys have each shape. */
  shapes: Record<string, number>;
}

/** Keys and MEMORY USAGE of one login after each checkpoint of rotations (see the rules above). */
export async function storagePerLogin(
  stack: Stack,
  target: Target,
  checkpoints: readonly number[],
): Promise<{ snapshots: LoginStorage[]; errors: number }> {
  const client = stack.redis.client;
  const before = await keysUnder(client, '');
  const lp = await refreshChain(stack);
  const snapshots: LoginStorage[] = [];
  let errors = 0;
  let done = 0;
  try {
    for (const at of checkpoints) {
      const s = await lp.run(1, { amount: at - done });
      errors += s.errors + s.bad + s.non2xx;
      done = at;
      const mine = [...(await keysUnder(client, ''))].filter((k) => !before.has(k) && !target.counterKeys?.test(k));
      const shapes: Record<string, number> = {};
      for (const k of mine) {
        const shape = k.replace(/[A-Za-z0-9_-]{20,}/g, '*');
        shapes[shape] = (shapes[shape] ?? 0) + 1;
      }
      snapshots.push({ rotations: at, keys: mine.length, bytes: await memoryOf(client, mine), shapes });
    }
  } finally {
    await lp.close();
  }
  return { snapshots, errors };
}

type Runner = (stack: Stack, opts: BenchOptions) => Promise<Row>;

const RUNNERS: Record<Exclude<PeerScenario, 'peer-memory'>, Runner> = {
  'peer-refresh': async (stack, opts) => (await refresh(stack, opts)).row,
  'peer-authorization-code': authorizationCode,
  'peer-client-credentials': clientCredentials,
  'peer-userinfo': userinfo,
  'peer-introspection': introspection,
};

/** Rows of one server over the rounds, combined: median rate, latency and CPU; summed requests and errors. */
function combined(id: string, title: string, rows: Row[], load: number[]): Row {
  // The main scenarios' targets and ceiling ratios are about the main Gatehouse, not these servers.
  const { target: _target, met: _met, ratio: _ratio, ...first } = rows[0] as Row;
  const cpus = rows.map((r) => r.serverCpuMs).filter((c): c is number => c !== undefined);
  return {
    ...first,
    id,
    title,
    rps: median(rows.map((r) => r.rps)),
    p50: median(rows.map((r) => r.p50)),
    p99: median(rows.map((r) => r.p99)),
    max: Math.max(...rows.map((r) => r.max)),
    requests: rows.reduce((n, r) => n + r.requests, 0),
    errors: rows.reduce((n, r) => n + r.errors, 0),
    non2xx: rows.reduce((n, r) => n + r.non2xx, 0),
    statuses: Object.assign({}, ...rows.map((r) => r.statuses ?? {})),
    ...(first.redisCommandsPerRequest !== undefined
      ? { redisCommandsPerRequest: median(rows.map((r) => r.redisCommandsPerRequest ?? 0)) }
      : {}),
    ...(cpus.length === rows.length ? { serverCpuMs: median(cpus) } : {}),
    notes: [
      ...first.notes,
      `${rows.length} round(s), medians shown; rates ${rows.map((r) => r.rps.toFixed(0)).join(', ')} /s; load average (1 min) at each run ${load.map((l) => l.toFixed(2)).join(', ')}`,
    ],
    details: {
      rounds: rows.map((r) => ({ rps: r.rps, p50: r.p50, p99: r.p99, serverCpuMs: r.serverCpuMs, details: r.details })),
    },
  };
}

function compare(
  scenario: PeerScenario,
  metric: string,
  unit: string,
  better: 'higher' | 'lower',
  rounds: Array<{ gatehouse: number; peer: number; quiet?: number; load1: number[] }>,
): Comparison {
  const withQuiet = rounds.every((r) => r.quiet !== undefined);
  return {
    scenario,
    metric,
    unit,
    better,
    gatehouse: median(rounds.map((r) => r.gatehouse)),
    peer: median(rounds.map((r) => r.peer)),
    ratio: median(rounds.map((r) => r.gatehouse / r.peer)),
    ...(withQuiet
      ? {
          quiet: median(rounds.map((r) => r.quiet as number)),
          quietRatio: median(rounds.map((r) => (r.quiet as number) / r.peer)),
        }
      : {}),
    rounds,
  };
}

/** Runs one peer scenario on every server it concerns, in paired rounds; returns the rows and the comparisons. */
export async function peerScenario(
  base: Stack,
  targets: PeerTargets,
  id: PeerScenario,
  opts: BenchOptions,
  po: PeerOptions,
): Promise<{ rows: Row[]; comparisons: Comparison[] }> {
  const views = {
    gatehouse: stackFor(base, targets.gatehouse),
    peer: stackFor(base, targets.peer),
    quiet: stackFor(base, targets.quiet),
  };
  const scenario = id.replace(/^peer-/, '');
  if (id === 'peer-memory') {
    const g = await storagePerLogin(views.gatehouse, targets.gatehouse, LOGIN_CHECKPOINTS);
    const p = await storagePerLogin(views.peer, targets.peer, LOGIN_CHECKPOINTS);
    const comparisons: Comparison[] = [];
    const rows: Row[] = [];
    for (const [i, at] of LOGIN_CHECKPOINTS.entries()) {
      const gs = g.snapshots[i] as LoginStorage;
      const ps = p.snapshots[i] as LoginStorage;
      const load = [load1()];
      comparisons.push(
        compare(id, `Redis keys per login after ${at.toLocaleString('en')} rotations`, 'keys', 'lower', [
          { gatehouse: gs.keys, peer: ps.keys, load1: load },
        ]),
      );
      comparisons.push(
        compare(id, `Redis bytes per login after ${at.toLocaleString('en')} rotations`, 'B', 'lower', [
          { gatehouse: gs.bytes, peer: ps.bytes, load1: load },
        ]),
      );
    }
    for (const [name, r] of [
      ['gatehouse', g],
      ['peer', p],
    ] as const) {
      const last = r.snapshots.at(-1) as LoginStorage;
      rows.push({
        id: `${id}/${name}`,
        title: `${name}: one login's Redis storage after ${LOGIN_CHECKPOINTS.join(' and ')} rotations`,
        rps: Number.NaN,
        p50: Number.NaN,
        p99: Number.NaN,
        max: Number.NaN,
        requests: last.rotations,
        errors: r.errors,
        non2xx: 0,
        notes: r.snapshots.map(
          (s) =>
            `after ${s.rotations.toLocaleString('en')} rotations: ${s.keys} keys, ${s.bytes} B — ${Object.entries(
              s.shapes,
            )
              .sort((a, b) => b[1] - a[1])
              .slice(0, 8)
              .map(([k, n]) => `${n} x ${k}`)
              .join(', ')}`,
        ),
        details: { snapshots: r.snapshots },
      });
    }
    return { rows, comparisons };
  }

  // The quiet server runs for refresh only; a baseline checkout runs in every scenario.
  const withSequential = id === 'peer-refresh';
  const withQuiet = withSequential || targets.baseline !== undefined;
  const order: Array<keyof typeof views> = withQuiet ? ['gatehouse', 'peer', 'quiet'] : ['gatehouse', 'peer'];
  const runner = RUNNERS[id];
  const byServer: Record<string, Row[]> = { gatehouse: [], peer: [], quiet: [] };
  const loads: Record<string, number[]> = { gatehouse: [], peer: [], quiet: [] };
  const sequential: Record<string, Sequential[]> = { gatehouse: [], peer: [], quiet: [] };
  const rounds: Array<Record<string, { row: Row; load: number; seq?: Sequential }>> = [];
  for (let round = 0; round < po.rounds; round++) {
    const result: Record<string, { row: Row; load: number; seq?: Sequential }> = {};
    for (const name of round % 2 === 0 ? order : [...order].reverse()) {
      process.stdout.write(`  ${id} round ${round + 1}/${po.rounds}: ${name}\n`);
      const load = load1();
      const row = await runner(views[name], opts);
      const seq = withSequential ? await sequentialRefresh(views[name], po.sequential) : undefined;
      result[name] = { row, load, ...(seq ? { seq } : {}) };
      byServer[name]?.push(row);
      loads[name]?.push(load);
      if (seq) sequential[name]?.push(seq);
    }
    rounds.push(result);
  }
  const rows = order.map((name) =>
    combined(
      `${id}/${name}`,
      `${name}: ${(byServer[name] as Row[])[0]?.title ?? scenario}`,
      byServer[name] as Row[],
      loads[name] as number[],
    ),
  );
  const pairs = (pick: (x: { row: Row; seq?: Sequential }) => number | undefined) =>
    rounds.map((r) => {
      const g = r.gatehouse as { row: Row; load: number; seq?: Sequential };
      const p = r.peer as { row: Row; load: number; seq?: Sequential };
      const q = r.quiet;
      const qv = q ? pick(q) : undefined;
      return {
        gatehouse: pick(g) ?? Number.NaN,
        peer: pick(p) ?? Number.NaN,
        ...(qv !== undefined ? { quiet: qv } : {}),
        load1: [g.load, p.load, ...(q ? [q.load] : [])],
      };
    });
  const comparisons = [
    compare(
      id,
      `${scenario} req/s`,
      'req/s',
      'higher',
      pairs((x) => x.row.rps),
    ),
    compare(
      id,
      `${scenario} server CPU per request`,
      'ms',
      'lower',
      pairs((x) => x.row.serverCpuMs),
    ),
  ];
  if (withSequential) {
    comparisons.push(
      compare(
        id,
        'refresh Redis CPU per refresh (sequential)',
        'µs',
        'lower',
        pairs((x) => x.seq?.redisCpuUsPerRefresh),
      ),
      compare(
        id,
        'refresh Redis commands per refresh (sequential, scripts included)',
        'cmds',
        'lower',
        pairs((x) => x.seq?.redisCommandsPerRefresh),
      ),
    );
    for (const name of order) {
      const row = rows.find((r) => r.id === `${id}/${name}`) as Row;
      const seqs = sequential[name] as Sequential[];
      const last = seqs.at(-1);
      row.notes.push(
        `sequential phase (${po.sequential} refreshes, 1 connection): Redis CPU ${seqs.map((s) => s.redisCpuUsPerRefresh.toFixed(0)).join(', ')} µs/refresh, ` +
          `${last?.redisCommandsPerRefresh.toFixed(1)} Redis commands/refresh (${Object.entries(last?.byCommand ?? {})
            .map(([k, v]) => `${k} ${v.toFixed(1)}`)
            .join(', ')})`,
      );
      row.details = { ...row.details, sequential: seqs };
    }
  }
  return { rows, comparisons };
}

/**
 * The share of a refresh's server CPU that the access log, audit and metrics take at the shipped defaults:
 * 1 - quiet / shipped, per round, median; undefined when the refresh comparison did not run.
 */
export function observabilityCost(comparisons: Comparison[]): number | undefined {
  const cpu = comparisons.find((c) => c.scenario === 'peer-refresh' && c.metric.startsWith('refresh server CPU'));
  const rounds = (cpu?.rounds ?? []).filter((r) => r.quiet !== undefined && r.gatehouse > 0);
  return rounds.length === 0 ? undefined : median(rounds.map((r) => 1 - (r.quiet as number) / r.gatehouse));
}
