/**
 * CPU time used by the bench's child processes (all their threads, so Gatehouse's includes libuv's hashing
 * threads), from /proc/<pid>/stat. CPU time per request hardly depends on what else runs on the machine, so it
 * is the steadiest figure the bench has on a shared machine; req/s and latency are not.
 *
 * Linux only: elsewhere every reading is undefined and the report leaves the column empty. Resolution is one
 * clock tick (10 ms at the usual 100 Hz), small against a 10-second run.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let msPerTick: number | undefined;

function tickMs(): number {
  if (msPerTick === undefined) {
    let hz = 100;
    try {
      hz = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      // keep Linux's usual 100 Hz
    }
    msPerTick = 1000 / hz;
  }
  return msPerTick;
}

/** User + system CPU milliseconds the process has used so far, or undefined if it cannot be read. */
export function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined || process.platform !== 'linux') return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at field 3; utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * tickMs();
  } catch {
    return undefined;
  }
}

export type Pids = Record<string, number | undefined>;

export function cpuSnapshot(pids: Pids): Record<string, number | undefined> {
  return Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuMs(pid)]));
}

/** CPU milliseconds per unit of work (request, login) for each process between two snapshots. */
export function cpuPer(
  before: Record<string, number | undefined>,
  after: Record<string, number | undefined>,
  units: number,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, a] of Object.entries(after)) {
    const b = before[name];
    if (a !== undefined && b !== undefined && units > 0) out[name] = (a - b) / units;
  }
  return out;
}
