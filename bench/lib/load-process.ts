/**
 * The bench's handle on one load-generator process (load/http-load.ts): init it with a target, then run
 * phases — a MONITOR probe (one connection, a fixed number of sequential requests), a warm-up that ends
 * cleanly (`amount`), and the timed run — while the bench reads Redis around each phase.
 */
import type { LoadSummary, LoadTarget } from '../load/http-load.ts';
import { ask, type Child, forkNode } from './processes.ts';
import { cpuPer, cpuSnapshot, type Pids } from './cpu.ts';
import { type BenchRedis, commandStats, type MonitorCount, monitorWhile, readsProcessed, statsDelta } from './redis.ts';

export type { LoadTarget };

export interface Measured extends LoadSummary {
  /** All commands Redis ran during the timed run (including inside Lua scripts) per request. */
  redisCommandsPerRequest: number;
  redisByCommand: Record<string, number>;
  /** CPU milliseconds per request of each watched process, the load generator included. */
  cpuMsPerRequest: Record<string, number>;
}

export interface Probe {
  roundTripsPerRequest: number;
  clientCommandsPerRequest: number;
  scriptCommandsPerRequest: number;
  monitor: MonitorCount;
}

export class LoadProcess {
  readonly #child: Child;

  private constructor(child: Child) {
    this.#child = child;
  }

  static async start(target: LoadTarget): Promise<LoadProcess> {
    const lp = new LoadProcess(forkNode('load generator', 'bench/load/http-load.ts'));
    await ask(lp.#child, { cmd: 'init', ...target });
    return lp;
  }

  run(connections: number, limit: { durationSec: number } | { amount: number }): Promise<LoadSummary> {
    return ask<LoadSummary>(this.#child, { cmd: 'run', connections, ...limit });
  }

  /**
   * Sequential requests on one connection: Redis read events per request (round trips), and under MONITOR the
   * commands Gatehouse sent vs those its Lua scripts ran.
   */
  async probe(redis: BenchRedis, requests: number): Promise<Probe> {
    let summary: LoadSummary | undefined;
    let reads = 0;
    const monitor = await monitorWhile(redis.url, async () => {
      const r0 = await readsProcessed(redis.client);
      summary = await this.run(1, { amount: requests });
      // The second INFO is itself one read event.
      reads = (await readsProcessed(redis.client)) - r0 - 1;
    });
    const n = summary?.requests || requests;
    return {
      roundTripsPerRequest: reads / n,
      clientCommandsPerRequest: monitor.fromClients / n,
      scriptCommandsPerRequest: monitor.fromScripts / n,
      monitor,
    };
  }

  /** The timed run, with Redis INFO commandstats and the watched processes' CPU time read before and after. */
  async measure(
    redis: BenchRedis,
    connections: number,
    limit: { durationSec: number } | { amount: number },
    watch: Pids,
  ): Promise<Measured> {
    const pids = { ...watch, 'load generator': this.#child.process.pid };
    const before = await commandStats(redis.client);
    const cpu0 = cpuSnapshot(pids);
    const summary = await this.run(connections, limit);
    const cpuMsPerRequest = cpuPer(cpu0, cpuSnapshot(pids), summary.requests);
    const delta = statsDelta(before, await commandStats(redis.client));
    return {
      ...summary,
      redisCommandsPerRequest: summary.requests ? delta.total / summary.requests : 0,
      redisByCommand: delta.byCommand,
      cpuMsPerRequest,
    };
  }

  async heads(): Promise<string[]> {
    return (await ask<{ heads: string[] }>(this.#child, { cmd: 'heads' })).heads;
  }

  close(): Promise<void> {
    return this.#child.stop();
  }
}
