/**
 * The HTTP load generator: autocannon in its own process (forked by the bench, driven over IPC), so the load it
 * makes and the server it measures never share an event loop.
 *
 * Modes:
 *   fixed  the same request every time (client credentials, bare Koa), or one per connection (its own token:
 *          userinfo, introspection, demo API)
 *   chain  refresh-token rotation: connection i walks chain i — each request sends the chain's current refresh
 *          token and the refresh token in the answer becomes the chain's next one (per-connection closures set
 *          up with autocannon's `setupClient`/`client.setRequests`; autocannon's own `context` is reset after
 *          every request when the request list has one entry, so it cannot carry a chain)
 *   list   every request consumes the next prepared body once (authorization codes)
 *
 * A run limited by `amount` lasts from its start to its last response (autocannon rounds it to whole seconds).
 *
 * Latency percentiles are computed here from every response time autocannon reports (sub-millisecond; its own
 * histogram keeps whole milliseconds).
 *
 * Rules: a 2xx answer whose body lacks the expected content (`expect`, or a refresh token in chain mode) is
 * counted as `bad`, so a scenario cannot look fast by failing politely; chain heads survive between runs of
 * the same process, so a warm-up that ends cleanly (`amount`) leaves the chains usable.
 */
import autocannon from 'autocannon';
import { percentile } from '../lib/stats.ts';

/** What one load-generator process sends: the same request, a per-connection token chain, or a list. */
export interface LoadTarget {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  mode: 'fixed' | 'chain' | 'list';
  body?: string;
  /** fixed mode: connection i sends perConnection[i % n] (its own token) instead of `body`/`headers`. */
  perConnection?: Array<{ headers?: Record<string, string>; body?: string }>;
  chains?: string[];
  bodies?: string[];
  expect?: string;
}

interface Init extends LoadTarget {
  cmd: 'init';
}

interface Run {
  cmd: 'run';
  connections: number;
  durationSec?: number;
  amount?: number;
}

export interface LoadSummary {
  requests: number;
  durationSec: number;
  rps: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
  /** Included in `errors` too (autocannon counts a timeout as an error). */
  timeouts: number;
  non2xx: number;
  bad: number;
  /** Status codes other than 2xx, with counts. */
  statuses: Record<string, number>;
}

let init: Init | undefined;
let heads: string[] = [];
let nextBody = 0;

const chainBody = (rt: string) => `grant_type=refresh_token&refresh_token=${encodeURIComponent(rt)}`;

/** The current refresh token of chain `slot`; there is one chain per connection. */
function headOf(slot: number): string {
  const head = heads[slot];
  if (head === undefined) throw new Error(`chain mode: no chain ${slot}`);
  return head;
}

async function run(r: Run): Promise<LoadSummary> {
  if (!init) throw new Error('init first');
  const spec = init;
  let bad = 0;
  const statuses: Record<string, number> = {};
  let slots = 0;
  const opts: autocannon.Options = {
    url: spec.url,
    method: spec.method,
    headers: spec.headers,
    connections: r.connections,
    pipelining: 1,
    timeout: 10,
    ...(r.amount ? { amount: r.amount } : { duration: r.durationSec ?? 10 }),
  };
  const checkBody = (status: number, body: string) => {
    if (status < 300 && spec.expect && !String(body).includes(spec.expect)) bad += 1;
  };
  if (spec.mode === 'fixed') {
    if (spec.body !== undefined) opts.body = spec.body;
    opts.requests = [{ onResponse: checkBody }];
    const own = spec.perConnection;
    if (own && own.length > 0) {
      opts.setupClient = (client) => {
        const mine = own[slots++ % own.length];
        client.setRequests([
          {
            headers: { ...spec.headers, ...mine?.headers },
            ...(mine?.body !== undefined ? { body: mine.body } : {}),
            onResponse: checkBody,
          },
        ]);
      };
    }
  } else if (spec.mode === 'chain') {
    if (r.connections > heads.length)
      throw new Error(`chain mode: ${r.connections} connections but ${heads.length} chains`);
    opts.setupClient = (client) => {
      const slot = slots++;
      client.setRequests([
        {
          method: 'POST',
          setupRequest: (req) => ({ ...req, body: chainBody(headOf(slot)) }),
          onResponse: (status, body) => {
            if (status !== 200) return;
            const next = /"refresh_token":"([^"]+)"/.exec(String(body))?.[1];
            if (next) heads[slot] = next;
            else bad += 1;
          },
        },
      ]);
    };
    opts.body = chainBody(headOf(0));
  } else {
    const bodies = spec.bodies ?? [];
    if ((r.amount ?? 0) > bodies.length - nextBody)
      throw new Error(`list mode: ${r.amount} requests but ${bodies.length - nextBody} bodies left`);
    opts.requests = [
      {
        setupRequest: (req) => ({ ...req, body: bodies[nextBody++] ?? '' }),
        onResponse: checkBody,
      },
    ];
  }
  const startedAt = performance.now();
  let lastResponseAt = startedAt;
  const instance = autocannon(opts);
  const latencies: number[] = [];
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    lastResponseAt = performance.now();
    latencies.push(responseTime);
    if (statusCode >= 300) statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
  });
  const result = await instance;
  latencies.sort((a, b) => a - b);
  const done = result['1xx'] + result['2xx'] + result['3xx'] + result['4xx'] + result['5xx'];
  // A run limited by `amount` ends at autocannon's next whole-second tick, so its own duration would quantise the
  // rate; the time from the start to the last response is the run's real length.
  const durationSec = r.amount ? Math.max(0.001, (lastResponseAt - startedAt) / 1000) : result.duration;
  return {
    requests: done,
    durationSec,
    rps: done / durationSec,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies.at(-1) ?? 0,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    bad,
    statuses,
  };
}

process.on('message', (msg: Init | Run | { cmd: 'heads' } | { cmd: 'exit' }) => {
  const reply = (v: unknown) => process.send?.(v);
  try {
    if (msg.cmd === 'init') {
      init = msg;
      heads = [...(msg.chains ?? [])];
      nextBody = 0;
      reply({ ok: true });
    } else if (msg.cmd === 'heads') reply({ heads });
    else if (msg.cmd === 'exit') process.exit(0);
    else run(msg).then(reply, (err: Error) => reply({ error: err.message }));
  } catch (err) {
    reply({ error: (err as Error).message });
  }
});
