/**
 * The bench's output: the table on stdout (scenario, req/s, p50, p99, max, errors, non-2xx, Redis commands per
 * request, ratio to its ceiling, target, met?), a loud list of any errors, and the JSON results file with the
 * machine the figures came from.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { Comparison } from '../scenarios/peer.ts';
import { fmt, type Row } from '../scenarios/types.ts';
import { ROOT } from './processes.ts';
import { median } from './stats.ts';

export function machineInfo(redisVersion: string): Record<string, unknown> {
  const cpus = os.cpus();
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'config'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    if (dirty.trim()) commit += ' + uncommitted changes in src/config';
  } catch {
    // not a git checkout
  }
  const autocannon = (
    JSON.parse(readFileSync(join(ROOT, 'node_modules/autocannon/package.json'), 'utf8')) as { version: string }
  ).version;
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpuCount: cpus.length,
    cpus,
    totalMemoryBytes: os.totalmem(),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    redis: redisVersion,
    autocannon,
    gitCommit: commit,
  };
}

function ratioText(r: Row): string {
  if (!r.ratio) return '-';
  return r.ratio.to === 'idle refresh p99'
    ? `${r.ratio.value.toFixed(2)}x idle p99`
    : `${r.ratio.value.toFixed(2)} of ${r.ratio.to}`;
}

export function table(rows: Row[]): string {
  const head = [
    'scenario',
    'req/s',
    'p50 ms',
    'p99 ms',
    'max ms',
    'errors',
    'non-2xx',
    'server CPU ms/req',
    'redis cmds/req',
    'redis trips/req',
    'ratio',
    'target',
    'met?',
  ];
  const body = rows.map((r) => [
    r.id,
    fmt(r.rps, 0),
    fmt(r.p50),
    fmt(r.p99),
    fmt(r.max),
    String(r.errors),
    String(r.non2xx),
    fmt(r.serverCpuMs, 3),
    fmt(r.redisCommandsPerRequest),
    fmt(r.redisRoundTripsPerRequest),
    ratioText(r),
    r.target ?? '-',
    r.met === undefined ? '-' : r.met ? 'met' : 'NOT MET',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]?.length ?? 0)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 || i >= 10 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join(' | ')} |`;
  const sep = `|${widths.map((w, i) => (i === 0 || i >= 10 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(head), sep, ...body.map(line)].join('\n');
}

const ratio = (r: number) => (r > 0 && r < 0.1 ? r.toPrecision(2) : r.toFixed(2));
const figure = (n: number | undefined) =>
  n === undefined || Number.isNaN(n) ? '-' : Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(n >= 10 ? 1 : 3);

/**
 * Gatehouse against the peer, one line per figure: Gatehouse (shipped defaults), the peer, the ratio
 * Gatehouse / peer (median of the per-round ratios), and the same for the second Gatehouse: access log, audit and
 * metrics off (`quiet`), or the BENCH_BASELINE checkout (`baseline`, then also Gatehouse / baseline: the median of
 * the per-round ratios, what the change bought).
 */
export function comparisonTable(comparisons: Comparison[], second: 'quiet' | 'baseline' = 'quiet'): string {
  const vsBaseline = (c: Comparison) => {
    const rounds = (c.rounds ?? []).filter((r) => r.quiet !== undefined && r.quiet > 0);
    return rounds.length === 0 ? '-' : ratio(median(rounds.map((r) => r.gatehouse / (r.quiet as number))));
  };
  const head = [
    'figure',
    'unit',
    'better',
    'gatehouse',
    'peer',
    'ratio',
    `gatehouse ${second}`,
    `${second} ratio`,
    ...(second === 'baseline' ? ['gatehouse / baseline'] : []),
    'load avg (1 min)',
  ];
  const body = comparisons.map((c) => [
    c.metric,
    c.unit,
    c.better,
    figure(c.gatehouse),
    figure(c.peer),
    ratio(c.ratio),
    figure(c.quiet),
    c.quietRatio === undefined ? '-' : ratio(c.quietRatio),
    ...(second === 'baseline' ? [vsBaseline(c)] : []),
    [...new Set((c.rounds ?? []).flatMap((r) => r.load1).map((l) => l.toFixed(1)))].join(' '),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]?.length ?? 0)));
  const left = (i: number) => i <= 2 || i === head.length - 1;
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (left(i) ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join(' | ')} |`;
  const sep = `|${widths.map((w, i) => (left(i) ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(head), sep, ...body.map(line)].join('\n');
}

export function notes(rows: Row[]): string {
  return rows
    .filter((r) => r.notes.length > 0)
    .map((r) => `${r.id} — ${r.title}\n${r.notes.map((n) => `    ${n}`).join('\n')}`)
    .join('\n');
}

/** Every row with errors or non-2xx answers, loudly; empty when there are none. */
export function errorBanner(rows: Row[]): string {
  const bad = rows.filter((r) => r.errors > 0 || r.non2xx > 0);
  if (bad.length === 0) return '';
  const lines = bad.map(
    (r) =>
      `  ${r.id}: ${r.errors} errors, ${r.non2xx} non-2xx ${r.statuses && Object.keys(r.statuses).length ? JSON.stringify(r.statuses) : ''}`,
  );
  const bar = '!'.repeat(72);
  return `${bar}\n!!! ERRORS: these figures are not valid until every scenario has 0 errors and 0 non-2xx\n${lines.join('\n')}\n${bar}`;
}

export function writeResults(doc: Record<string, unknown>, startedAt: Date): string {
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(
    dir,
    `${startedAt
      .toISOString()
      .replaceAll(':', '-')
      .replace(/\.\d+Z$/, 'Z')}.json`,
  );
  writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
  return file;
}
