/**
 * The validated-token cache of the JWT middleware, through real HTTP against a real issuer (discovery + JWKS the
 * test controls). Each test first shows the token IS served from the cache (a hit in cacheStats), then that the
 * cache still refuses what full verification refuses: an expired token, a token of a retired key, a tampered
 * token. Plus the LRU bound, tokens not yet valid without the leeway, failures, and the cache turned off.
 * Waiting for a token to expire is a wait, not a timing assertion: every assertion is on status codes and counters.
 */
import test, { type ExecutionContext } from 'ava';
import type { TokenGuardOptions } from '../../src/resource-server/middleware.ts';
import { AUDIENCE, call, startApi } from './api.ts';
import { makeKey, startTestIssuer, type TestIssuer } from './test-issuer.ts';

async function setup(t: ExecutionContext, opts: Partial<TokenGuardOptions> = {}) {
  const k1 = await makeKey('k1');
  const iss = await startTestIssuer(t, [k1]);
  const { url, guard } = await startApi(t, { issuer: iss.issuer, ...opts });
  return { iss, k1, guard, profile: `${url}/api/profile` };
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

async function untilSecond(second: number): Promise<void> {
  while (nowSeconds() < second) await new Promise((r) => setTimeout(r, 50));
}

/** Changes one character of the token at `index` to another base64url character. */
function tamper(token: string, index: number): string {
  const c = token[index] === 'A' ? 'B' : 'A';
  return token.slice(0, index) + c + token.slice(index + 1);
}

async function good(iss: TestIssuer, extra = {}) {
  return iss.sign(iss.goodClaims(AUDIENCE, extra));
}

test('a token is verified once and then served from the cache', async (t) => {
  const { iss, guard, profile } = await setup(t);
  const token = await good(iss);
  for (let i = 0; i < 3; i++) t.is((await call(profile, token)).status, 200);
  t.like(guard.cacheStats(), { size: 1, hits: 2, misses: 1, maxEntries: 10_000 });
});

test('a cached token is refused after its exp, with the same error as without the cache', async (t) => {
  const { iss, guard, profile } = await setup(t, { clockToleranceSeconds: 0 });
  const exp = nowSeconds() + 2;
  const token = await good(iss, { exp });
  t.is((await call(profile, token)).status, 200);
  t.is((await call(profile, token)).status, 200);
  t.is(guard.cacheStats().hits, 1, 'the second call was a cache hit');
  await untilSecond(exp);
  const res = await call(profile, token);
  t.is(res.status, 401);
  t.is(res.body.error, 'invalid_token');
  t.is(res.body.error_description, 'the access token has expired');
  t.like(guard.cacheStats(), { hits: 1, size: 0 });
});

test('the leeway applies to cached tokens exactly as to verified ones', async (t) => {
  const { iss, guard, profile } = await setup(t, { clockToleranceSeconds: 1 });
  const exp = nowSeconds() + 1;
  const token = await good(iss, { exp });
  t.is((await call(profile, token)).status, 200);
  await untilSecond(exp);
  t.is((await call(profile, token)).status, 200, 'at exp, still inside a 1 s leeway');
  t.is(guard.cacheStats().hits, 1);
  await untilSecond(exp + 1);
  t.is((await call(profile, token)).status, 401, 'exp <= now - leeway: expired, cached or not');
});

test('a cached token signed by a key the issuer retired is refused as soon as the key set is reloaded (unknown kid)', async (t) => {
  const k1 = await makeKey('k1');
  const k2 = await makeKey('k2');
  const iss = await startTestIssuer(t, [k1, k2]);
  const { url, guard } = await startApi(t, { issuer: iss.issuer, unknownKidCooldownMs: 0 });
  const profile = `${url}/api/profile`;
  const byK2 = await iss.sign(iss.goodClaims(AUDIENCE), { key: k2 });
  const byK1 = await iss.sign(iss.goodClaims(AUDIENCE), { key: k1 });
  t.is((await call(profile, byK2)).status, 200);
  t.is((await call(profile, byK1)).status, 200);
  t.is((await call(profile, byK2)).status, 200);
  t.like(guard.cacheStats(), { size: 2, hits: 1 });

  // k2 is retired (e.g. compromised); k3 is published and a token using it makes the API reload the set.
  const k3 = await makeKey('k3');
  iss.published = [k1, k3];
  t.is((await call(profile, await iss.sign(iss.goodClaims(AUDIENCE), { key: k3 }))).status, 200);
  t.is(guard.cacheStats().clears, 1, 'the reload retired k2 and emptied the cache');

  const res = await call(profile, byK2);
  t.is(res.status, 401);
  t.regex(String(res.body.error_description), /unknown key/);
  t.is((await call(profile, byK1)).status, 200, 'tokens of keys still published verify again');
});

test('a cached token of a retired key is refused when the key set is reloaded for age', async (t) => {
  const k1 = await makeKey('k1');
  const k2 = await makeKey('k2');
  const iss = await startTestIssuer(t, [k1, k2]);
  const { url, guard } = await startApi(t, { issuer: iss.issuer, jwksMaxAgeMs: 2_000 });
  const profile = `${url}/api/profile`;
  const byK2 = await iss.sign(iss.goodClaims(AUDIENCE), { key: k2 });
  t.is((await call(profile, byK2)).status, 200);
  t.is((await call(profile, byK2)).status, 200);
  t.is(guard.cacheStats().hits, 1);
  iss.published = [k1];
  await new Promise((r) => setTimeout(r, 2_100));
  const res = await call(profile, byK2);
  t.is(res.status, 401, 'a stale key set bypasses the cache, reloads, and the retired key is gone');
  t.is(guard.cacheStats().hits, 1);
  t.is(guard.cacheStats().clears, 1);
});

test('a tampered token (one character changed) is never answered from the cache', async (t) => {
  const { iss, guard, profile } = await setup(t);
  const token = await good(iss);
  t.is((await call(profile, token)).status, 200);
  t.is((await call(profile, token)).status, 200);
  const [header = '', payload = ''] = token.split('.');
  const inSignature = tamper(token, header.length + payload.length + 2 + 10);
  const inPayload = tamper(token, header.length + 1 + 10);
  const inHeader = tamper(token, 5);
  // Inside the 32-character tail the cache indexes by (not the last character: its low bits are base64 padding).
  const inTail = tamper(token, token.length - 5);
  for (const forged of [inSignature, inPayload, inHeader, inTail]) {
    t.not(forged, token);
    const res = await call(profile, forged);
    t.is(res.status, 401);
    t.is(res.body.error, 'invalid_token');
  }
  t.like(guard.cacheStats(), { hits: 1, size: 1 }, 'no forged token was a hit or was stored');
  t.is((await call(profile, token)).status, 200);
});

test('the size bound evicts the least recently used token', async (t) => {
  const { iss, guard, profile } = await setup(t, { tokenCacheSize: 2 });
  const [a, b, c] = await Promise.all([good(iss), good(iss), good(iss)]);
  for (const token of [a, b, c]) t.is((await call(profile, token as string)).status, 200);
  t.like(guard.cacheStats(), { size: 2, evictions: 1, hits: 0, misses: 3 });
  t.is((await call(profile, b as string)).status, 200, 'b is cached; the hit makes it the most recent');
  t.like(guard.cacheStats(), { hits: 1 });
  t.is((await call(profile, a as string)).status, 200, 'a was evicted: verified again, evicting c (least recent)');
  t.like(guard.cacheStats(), { hits: 1, misses: 4, evictions: 2, size: 2 });
  t.is((await call(profile, b as string)).status, 200);
  t.is((await call(profile, a as string)).status, 200);
  t.like(guard.cacheStats(), { hits: 3, misses: 4 });
  t.is((await call(profile, c as string)).status, 200);
  t.like(guard.cacheStats(), { hits: 3, misses: 5, evictions: 3 });
});

test('failures and tokens valid only thanks to the leeway (nbf, iat in the future) are not cached', async (t) => {
  const { iss, guard, profile } = await setup(t, { clockToleranceSeconds: 30 });
  const now = nowSeconds();
  const early = await good(iss, { nbf: now + 20 });
  const fromTheFuture = await good(iss, { iat: now + 20, exp: now + 600 });
  const wrongAudience = await good(iss, { aud: 'http://elsewhere' });
  for (let i = 0; i < 2; i++) {
    t.is((await call(profile, early)).status, 200);
    t.is((await call(profile, fromTheFuture)).status, 200);
    t.is((await call(profile, wrongAudience)).status, 401);
  }
  t.like(guard.cacheStats(), { size: 0, hits: 0 });
});

test('cache off (size 0): every request is verified, and refusals are unchanged', async (t) => {
  const { iss, guard, profile } = await setup(t, { tokenCacheSize: 0, clockToleranceSeconds: 0 });
  const exp = nowSeconds() + 2;
  const token = await good(iss, { exp });
  t.is((await call(profile, token)).status, 200);
  t.is((await call(profile, token)).status, 200);
  t.is((await call(profile, tamper(token, token.length - 10))).status, 401);
  t.like(guard.cacheStats(), { size: 0, hits: 0, maxEntries: 0 });
  await untilSecond(exp);
  t.is((await call(profile, token)).status, 401);
});

test('an entry older than the max age is verified again', async (t) => {
  // A max age two calls on a busy machine stay well inside, and a wait just past it.
  const { iss, guard, profile } = await setup(t, { tokenCacheMaxAgeMs: 2_000 });
  const token = await good(iss);
  t.is((await call(profile, token)).status, 200);
  t.is((await call(profile, token)).status, 200);
  t.is(guard.cacheStats().hits, 1);
  await new Promise((r) => setTimeout(r, 2_100));
  t.is((await call(profile, token)).status, 200);
  t.like(guard.cacheStats(), { hits: 1, misses: 2, size: 1 });
});

test('introspection mode does not cache', async (t) => {
  const iss = await startTestIssuer(t, [await makeKey('k1')]);
  const { guard } = await startApi(t, {
    issuer: iss.issuer,
    mode: 'introspection',
    introspection: { clientId: 'rs', clientSecret: 'rs-secret' },
  });
  t.is(guard.cacheStats().maxEntries, 0);
});
