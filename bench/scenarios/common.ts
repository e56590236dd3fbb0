/**
 * Shared steps of the HTTP scenarios: minting real tokens and codes beforehand (through the real pages and the
 * token endpoint), and the probe → warm-up → timed-run sequence with the row it yields.
 */
import { LoadProcess, type LoadTarget, type Measured } from '../lib/load-process.ts';
import { basicAuth, type CookieJar, loginAndExchange, mintCode, type TokenSet, tokenRequest } from '../lib/oauth.ts';
import type { Stack } from '../lib/stack.ts';
import type { BenchOptions, Row } from './types.ts';

/** The scope of the web client's tokens: an ID token, a refresh token, and a JWT access token for the API. */
export const API_SCOPE = 'openid offline_access api:read';
/** Without a resource-server scope Gatehouse issues an opaque access token, the one userinfo accepts. */
export const USERINFO_SCOPE = 'openid profile email';

/** Runs `fn` over 0..n-1 with at most `limit` at a time. */
export async function pool<T>(n: number, limit: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const i = next++;
      out[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, lane));
  return out;
}

/** `n` separate password logins (each a new browser, a new grant), each followed by the code exchange. */
export async function freshGrants(
  stack: Stack,
  n: number,
  scope: string,
): Promise<Array<{ tokens: TokenSet; jar: CookieJar }>> {
  return pool(n, 4, () => loginAndExchange(stack.endpoints, stack.web, stack.user, scope));
}

/** `n` more token sets from already signed-in browsers (no password): an authorization request + exchange each. */
export async function moreTokens(stack: Stack, jars: CookieJar[], n: number, scope: string): Promise<TokenSet[]> {
  return pool(n, 8, async (i) => {
    const { code, verifier } = await mintCode(
      stack.endpoints,
      stack.web,
      stack.user,
      jars[i % jars.length] as CookieJar,
      scope,
    );
    return tokenRequest(stack.endpoints, stack.web, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: stack.web.redirectUri,
      code_verifier: verifier,
    });
  });
}

/** One fresh login, and a load process that walks its refresh-token chain on one connection. */
export async function refreshChain(stack: Stack): Promise<LoadProcess> {
  const [grant] = await freshGrants(stack, 1, API_SCOPE);
  const rt = grant?.tokens.refresh_token;
  if (!rt) throw new Error('the code exchange gave no refresh token');
  return LoadProcess.start({
    url: stack.endpoints.token,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(stack.web) },
    mode: 'chain',
    chains: [rt],
  });
}

export interface RunPlan {
  target: LoadTarget;
  /** The process whose CPU per request is the row's `serverCpuMs` (default: Gatehouse). */
  server?: 'gatehouse' | 'demo-api' | 'bare-koa';
  /** Count client-sent Redis commands with a MONITOR probe first (Redis-backed scenarios). */
  probe: boolean;
  /** Warm-up: a time (fixed mode) or a number of requests that ends cleanly (chain and list modes). */
  warmup: { durationSec: number } | { amount: number };
  run: { durationSec: number } | { amount: number };
}

export interface RunOutcome {
  measured: Measured;
  roundTripsPerRequest?: number;
  clientCommandsPerRequest?: number;
  scriptCommandsPerRequest?: number;
  probeByCommand?: Record<string, number>;
  probeSample?: string[];
  heads?: string[];
  server: string;
}

export async function probeWarmMeasure(stack: Stack, opts: BenchOptions, plan: RunPlan): Promise<RunOutcome> {
  const lp = await LoadProcess.start(plan.target);
  try {
    const out: Partial<RunOutcome> = { server: plan.server ?? 'gatehouse' };
    if (plan.probe) {
      const p = await lp.probe(stack.redis, opts.probeRequests);
      out.roundTripsPerRequest = p.roundTripsPerRequest;
      out.clientCommandsPerRequest = p.clientCommandsPerRequest;
      out.scriptCommandsPerRequest = p.scriptCommandsPerRequest;
      out.probeByCommand = p.monitor.byCommand;
      out.probeSample = p.monitor.sample;
    }
    if ('amount' in plan.warmup ? plan.warmup.amount > 0 : plan.warmup.durationSec > 0)
      await lp.run(opts.connections, plan.warmup);
    out.measured = await lp.measure(stack.redis, opts.connections, plan.run, {
      gatehouse: stack.gatehouse.process.pid,
      redis: stack.redis.child.process.pid,
      'demo-api': stack.demoApi.process.pid,
      'bare-koa': stack.bareKoa.process.pid,
    });
    if (plan.target.mode === 'chain') out.heads = await lp.heads();
    return out as RunOutcome;
  } finally {
    await lp.close();
  }
}

export function rowOf(id: string, title: string, o: RunOutcome, redis: boolean): Row {
  const m = o.measured;
  return {
    id,
    title,
    rps: m.rps,
    p50: m.p50,
    p99: m.p99,
    max: m.max,
    requests: m.requests,
    errors: m.errors + m.bad,
    non2xx: m.non2xx,
    statuses: m.statuses,
    ...(redis ? { redisCommandsPerRequest: m.redisCommandsPerRequest } : {}),
    ...(o.roundTripsPerRequest !== undefined ? { redisRoundTripsPerRequest: o.roundTripsPerRequest } : {}),
    ...(m.cpuMsPerRequest[o.server] !== undefined ? { serverCpuMs: m.cpuMsPerRequest[o.server] } : {}),
    notes: [],
    details: {
      durationSec: m.durationSec,
      cpuMsPerRequest: m.cpuMsPerRequest,
      redisByCommandInRun: redis ? m.redisByCommand : undefined,
      probe:
        o.roundTripsPerRequest !== undefined
          ? {
              roundTripsPerRequest: o.roundTripsPerRequest,
              clientCommandsPerRequest: o.clientCommandsPerRequest,
              scriptCommandsPerRequest: o.scriptCommandsPerRequest,
              clientCommands: o.probeByCommand,
              firstCommands: o.probeSample,
            }
          : undefined,
    },
  };
}

export const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
export type { Measured };
