/**
 * Memory of a long-lived grant: one login, then its refresh token rotated 10,000 times in sequence over HTTP
 * (each answer's refresh token used next). The grant's keys are the keys under Gatehouse's prefix that did not
 * exist before the login (nothing else runs meanwhile), less the rate-limit counters; their bytes are summed with MEMORY USAGE. Measured
 * after the login, after 1,000 and after 10,000 rotations: bounded means no growth from 1,000 to 10,000.
 */
import { LoadProcess } from '../lib/load-process.ts';
import { basicAuth } from '../lib/oauth.ts';
import { keysUnder, memoryOf, usedMemory } from '../lib/redis.ts';
import type { Stack } from '../lib/stack.ts';
import { API_SCOPE, freshGrants } from './common.ts';
import type { Row } from './types.ts';

export const ROTATIONS = 10_000;
/** Rate-limit and login-throttle counters (src/storage/redis/keys.ts) live under the prefix but are not the grant's. */
const COUNTER = /^(throttle|lock):/;

interface Snapshot {
  rotations: number;
  keys: number;
  bytes: number;
  usedMemoryDelta: number;
  /** Key names with their random ids replaced by `*`, and how many keys have each shape. */
  shapes: Record<string, number>;
}

function shapesOf(keys: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) {
    const shape = k.replace(/[A-Za-z0-9_-]{20,}/g, '*');
    out[shape] = (out[shape] ?? 0) + 1;
  }
  return out;
}

export async function longLivedGrant(stack: Stack): Promise<Row> {
  const redis = stack.redis.client;
  const before = await keysUnder(redis, stack.keyPrefix);
  const mem0 = await usedMemory(redis);
  const snap = async (rotations: number): Promise<Snapshot> => {
    const mine = [...(await keysUnder(redis, stack.keyPrefix))].filter(
      (k) => !before.has(k) && !COUNTER.test(k.slice(stack.keyPrefix.length)),
    );
    return {
      rotations,
      keys: mine.length,
      bytes: await memoryOf(redis, mine),
      usedMemoryDelta: (await usedMemory(redis)) - mem0,
      shapes: shapesOf(mine),
    };
  };
  const [grant] = await freshGrants(stack, 1, API_SCOPE);
  const rt = grant?.tokens.refresh_token;
  if (!rt) throw new Error('no refresh token');
  const snaps = [await snap(0)];
  const lp = await LoadProcess.start({
    url: stack.endpoints.token,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(stack.web) },
    mode: 'chain',
    chains: [rt],
  });
  let errors = 0;
  let non2xx = 0;
  let last: Awaited<ReturnType<LoadProcess['run']>> | undefined;
  try {
    for (const amount of [1000, ROTATIONS - 1000]) {
      last = await lp.run(1, { amount });
      errors += last.errors + last.bad;
      non2xx += last.non2xx;
      snaps.push(await snap((snaps.at(-1)?.rotations ?? 0) + amount));
    }
  } finally {
    await lp.close();
  }
  const [, at1k, at10k] = snaps as [Snapshot, Snapshot, Snapshot];
  // Bounded: no growth from 1,000 to 10,000 rotations beyond noise (a key or two that come and go, such as a
  // fixed-window counter, and 10% of bytes).
  const bounded = at10k.keys <= at1k.keys + 2 && at10k.bytes <= at1k.bytes * 1.1;
  return {
    id: 'memory',
    title: `one grant refreshed ${ROTATIONS.toLocaleString('en')} times (1 connection, sequential)`,
    rps: last?.rps ?? 0,
    p50: last?.p50 ?? Number.NaN,
    p99: last?.p99 ?? Number.NaN,
    max: last?.max ?? Number.NaN,
    requests: ROTATIONS,
    errors,
    non2xx,
    target: 'bytes per grant bounded after 10,000 rotations',
    met: bounded && errors === 0 && non2xx === 0,
    notes: [
      ...snaps.map(
        (s) =>
          `after ${s.rotations.toLocaleString('en')} rotations: ${s.keys} keys, ${s.bytes} B (MEMORY USAGE), used_memory +${s.usedMemoryDelta} B`,
      ),
      `keys after ${ROTATIONS.toLocaleString('en')}: ${Object.entries(at10k.shapes)
        .map(([k, n]) => `${n} x ${k}`)
        .join(', ')}`,
    ],
    details: { snapshots: snaps },
  };
}
