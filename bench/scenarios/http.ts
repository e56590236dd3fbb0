/**
 * The HTTP scenarios: the bare Koa ceiling, client credentials, refresh-token rotation (every
 * connection walks its own chain), authorization-code exchange, userinfo, introspection and the demo API
 * validating JWT access tokens. Tokens and codes are minted beforehand through the real pages and endpoints;
 * only the timed run is measured.
 */
import { basicAuth, jwtAlg, mintCode, type TokenSet } from '../lib/oauth.ts';
import { keysUnder, memoryOf, usedMemory } from '../lib/redis.ts';
import type { Stack } from '../lib/stack.ts';
import { API_SCOPE, bearer, freshGrants, moreTokens, pool, probeWarmMeasure, rowOf, USERINFO_SCOPE } from './common.ts';
import type { BenchOptions, Row } from './types.ts';

const FORM = 'application/x-www-form-urlencoded';

export async function bareKoa(stack: Stack, opts: BenchOptions): Promise<Row> {
  const o = await probeWarmMeasure(stack, opts, {
    target: { url: stack.koaUrl, method: 'GET', headers: {}, mode: 'fixed', expect: '"ok":true' },
    server: 'bare-koa',
    probe: false,
    warmup: { durationSec: opts.warmupSec },
    run: { durationSec: opts.durationSec },
  });
  const row = rowOf('bare-koa', 'ceiling: bare Koa JSON endpoint', o, false);
  row.notes.push('the HTTP ceiling: same machine, same load generator settings');
  return row;
}

export async function clientCredentials(stack: Stack, opts: BenchOptions): Promise<Row> {
  const o = await probeWarmMeasure(stack, opts, {
    target: {
      url: stack.endpoints.token,
      method: 'POST',
      headers: { 'content-type': FORM, authorization: basicAuth(stack.service) },
      mode: 'fixed',
      body: 'grant_type=client_credentials&scope=api%3Aread',
      expect: '"access_token"',
    },
    probe: true,
    warmup: { durationSec: opts.warmupSec },
    run: { durationSec: opts.durationSec },
  });
  const row = rowOf('client-credentials', 'client credentials (JWT for the API)', o, true);
  row.target = '>= 1,500 req/s';
  row.met = row.rps >= 1500;
  return row;
}

export interface Chains {
  chains: string[];
  algs: { accessToken: string; idToken: string };
  keysBefore: Set<string>;
  memBefore: number;
}

/** One separate password login per connection (a new browser, a new grant each): the chains to rotate. */
export async function prepareChains(stack: Stack, opts: BenchOptions): Promise<Chains> {
  const keysBefore = await keysUnder(stack.redis.client, stack.keyPrefix);
  const memBefore = await usedMemory(stack.redis.client);
  const grants = await freshGrants(stack, opts.connections, API_SCOPE);
  const chains = grants.map((g) => {
    if (!g.tokens.refresh_token) throw new Error('the code exchange gave no refresh token');
    return g.tokens.refresh_token;
  });
  const first = grants[0]?.tokens as TokenSet;
  return {
    chains,
    algs: { accessToken: jwtAlg(first.access_token), idToken: jwtAlg(first.id_token) },
    keysBefore,
    memBefore,
  };
}

/**
 * Each connection rotates its own chain: probe (unless other load runs), warm-up, timed run. With `memory`,
 * also the Redis memory per active grant (only meaningful when nothing else created keys since prepareChains).
 */
export async function runChains(
  stack: Stack,
  opts: BenchOptions,
  c: Chains,
  id: string,
  title: string,
  alone: boolean,
): Promise<Row> {
  const o = await probeWarmMeasure(stack, opts, {
    target: {
      url: stack.endpoints.token,
      method: 'POST',
      headers: { 'content-type': FORM, authorization: basicAuth(stack.web) },
      mode: 'chain',
      chains: c.chains,
    },
    probe: alone,
    warmup: { amount: opts.connections * 20 },
    run: { durationSec: opts.durationSec },
  });
  const row = rowOf(id, title, o, true);
  const n = c.chains.length;
  row.details = { ...row.details, chains: n, algs: c.algs };
  row.notes.push(`${n} chains, one per connection; ID token ${c.algs.idToken}, access token ${c.algs.accessToken}`);
  if (alone) {
    const newKeys = [...(await keysUnder(stack.redis.client, stack.keyPrefix))].filter((k) => !c.keysBefore.has(k));
    const bytes = await memoryOf(stack.redis.client, newKeys);
    const memDelta = (await usedMemory(stack.redis.client)) - c.memBefore;
    const perGrant = { keys: newKeys.length / n, memoryUsageBytes: bytes / n, usedMemoryDeltaBytes: memDelta / n };
    row.details = { ...row.details, perActiveGrant: perGrant };
    row.notes.push(
      `Redis per active grant after the run (its session, grant, live and remembered tokens): ${perGrant.keys.toFixed(1)} keys, ` +
        `${Math.round(perGrant.memoryUsageBytes)} B by MEMORY USAGE, ${Math.round(perGrant.usedMemoryDeltaBytes)} B by used_memory delta`,
    );
  }
  return row;
}

export async function refresh(
  stack: Stack,
  opts: BenchOptions,
  id = 'refresh',
  title = 'refresh_token with rotation',
): Promise<{ row: Row; algs: Chains['algs'] }> {
  const c = await prepareChains(stack, opts);
  return { row: await runChains(stack, opts, c, id, title, true), algs: c.algs };
}

export function judgeRefresh(row: Row): void {
  row.target = '>= 1,000 req/s, p99 < 40 ms, <= 3 Redis round trips';
  const trips = row.redisRoundTripsPerRequest ?? Number.POSITIVE_INFINITY;
  row.met = row.rps >= 1000 && row.p99 < 40 && trips <= 3;
}

/** Codes minted beforehand by signed-in browsers (8 separate logins), each exchanged once. */
export async function authorizationCode(stack: Stack, opts: BenchOptions): Promise<Row> {
  const sessions = await freshGrants(stack, 8, API_SCOPE);
  const warm = opts.connections * 10;
  const wanted = opts.probeRequests + warm + Math.round(opts.durationSec * 600);
  const deadline = Date.now() + Math.max(10, opts.durationSec * 2) * 1000;
  const bodies: string[] = [];
  await pool(wanted, 8, async (i) => {
    if (Date.now() > deadline) return;
    const jar = sessions[i % sessions.length]?.jar;
    if (!jar) return;
    const { code, verifier } = await mintCode(stack.endpoints, stack.web, stack.user, jar, API_SCOPE);
    bodies.push(
      new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: stack.web.redirectUri,
        code_verifier: verifier,
      }).toString(),
    );
  });
  const amount = bodies.length - opts.probeRequests - warm;
  if (amount < opts.connections * 10) throw new Error(`only ${bodies.length} codes minted in time`);
  const o = await probeWarmMeasure(stack, opts, {
    target: {
      url: stack.endpoints.token,
      method: 'POST',
      headers: { 'content-type': FORM, authorization: basicAuth(stack.web) },
      mode: 'list',
      bodies,
      expect: '"refresh_token"',
    },
    probe: true,
    warmup: { amount: warm },
    run: { amount },
  });
  const row = rowOf('authorization-code', 'authorization_code exchange (PKCE)', o, true);
  row.notes.push(
    `${amount} codes minted beforehand by 8 signed-in browsers, each exchanged once (the run ends when they are used up)`,
  );
  return row;
}

async function userinfoTokens(stack: Stack, n: number): Promise<string[]> {
  const [first] = await freshGrants(stack, 1, USERINFO_SCOPE);
  if (!first) throw new Error('no login');
  const more = await moreTokens(stack, [first.jar], n - 1, USERINFO_SCOPE);
  const tokens = [first.tokens, ...more].map((t) => t.access_token);
  if (jwtAlg(tokens[0]) !== 'opaque') throw new Error('expected an opaque access token for userinfo');
  return tokens;
}

export async function userinfo(stack: Stack, opts: BenchOptions): Promise<Row> {
  const tokens = await userinfoTokens(stack, opts.connections);
  const o = await probeWarmMeasure(stack, opts, {
    target: {
      url: stack.endpoints.userinfo,
      method: 'GET',
      headers: {},
      mode: 'fixed',
      perConnection: tokens.map(bearer),
      expect: '"sub"',
    },
    probe: true,
    warmup: { durationSec: opts.warmupSec },
    run: { durationSec: opts.durationSec },
  });
  const row = rowOf('userinfo', 'userinfo (opaque access token)', o, true);
  row.notes.push('each connection presents its own opaque access token');
  return row;
}

export async function introspection(stack: Stack, opts: BenchOptions): Promise<Row> {
  const tokens = await userinfoTokens(stack, opts.connections);
  const o = await probeWarmMeasure(stack, opts, {
    target: {
      url: stack.endpoints.introspection,
      method: 'POST',
      headers: { 'content-type': FORM, authorization: basicAuth(stack.web) },
      mode: 'fixed',
      perConnection: tokens.map((t) => ({
        body: new URLSearchParams({ token: t, token_type_hint: 'access_token' }).toString(),
      })),
      expect: '"active":true',
    },
    probe: true,
    warmup: { durationSec: opts.warmupSec },
    run: { durationSec: opts.durationSec },
  });
  const row = rowOf('introspection', 'introspection (opaque access token)', o, true);
  row.notes.push(
    'a confidential client introspects opaque access tokens; an answer without "active":true counts as an error',
  );
  return row;
}

export async function demoApi(stack: Stack, opts: BenchOptions): Promise<Row> {
  const [first] = await freshGrants(stack, 1, API_SCOPE);
  if (!first) throw new Error('no login');
  const more = await moreTokens(stack, [first.jar], opts.connections - 1, API_SCOPE);
  const tokens = [first.tokens, ...more].map((t) => t.access_token);
  const o = await probeWarmMeasure(stack, opts, {
    target: {
      url: `${stack.apiUrl}/api/profile`,
      method: 'GET',
      headers: {},
      mode: 'fixed',
      perConnection: tokens.map(bearer),
      expect: '"sub"',
    },
    server: 'demo-api',
    probe: false,
    warmup: { durationSec: opts.warmupSec },
    run: { durationSec: opts.durationSec },
  });
  const row = rowOf('demo-api', `demo API: JWT access token (${jwtAlg(tokens[0])}) validated locally`, o, false);
  row.target = '>= 70% of bare Koa';
  return row;
}
