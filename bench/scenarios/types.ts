/**
 * What every scenario returns and what the report prints: one row per scenario, with its ratio to a ceiling
 * and its target (met, not met, or no target; docs/performance.md "Targets").
 */
export interface BenchOptions {
  durationSec: number;
  warmupSec: number;
  connections: number;
  /** Concurrent virtual users of the login storm. */
  loginUsers: number;
  /** Requests of the sequential MONITOR probe that counts client-sent Redis commands. */
  probeRequests: number;
}

export interface Row {
  id: string;
  title: string;
  rps: number;
  p50: number;
  p99: number;
  max: number;
  requests: number;
  /** Connection errors and timeouts (autocannon counts timeouts as errors) + 2xx answers without the expected content. */
  errors: number;
  non2xx: number;
  statuses?: Record<string, number>;
  /** Everything Redis ran per request (INFO commandstats delta / requests, Lua-internal commands included). */
  redisCommandsPerRequest?: number;
  /** Redis round trips per request: read events Redis processed per request in a sequential probe. */
  redisRoundTripsPerRequest?: number;
  /** CPU milliseconds per request of the server under test (Gatehouse, the demo API or bare Koa), all threads. */
  serverCpuMs?: number;
  ratio?: { value: number; to: string };
  target?: string;
  met?: boolean;
  notes: string[];
  details?: Record<string, unknown>;
}

export const fmt = (n: number | undefined, digits = 1) =>
  n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits);
