/**
 * argon2id hashing. Defaults are OWASP's (19 MiB, t=2, p=1) and come from config. `verify` reports when a hash
 * was made with other parameters so the caller can re-hash on a successful login.
 *
 * Rules:
 * - Hashing runs on libuv's thread pool (argon2's native binding), never on the event loop.
 * - At most `hashingSlots()` hashes run at once; further ones wait their turn here. The thread pool (4 threads
 *   unless UV_THREADPOOL_SIZE says otherwise) is shared with WebCrypto, which signs every ID token and JWT
 *   access token: with every thread busy hashing, a refresh would wait for a free thread behind each queued
 *   hash (measured: one RS256 signature took 600 ms behind 16 concurrent verifications). At least one thread
 *   is therefore always left free, and no more hashes run than there are cores, which is all the CPU they can
 *   use anyway — so the login rate is not lowered.
 * - Hashing is throughput work, the event loop is latency work: on Linux the pool's threads run at a lower
 *   scheduling priority (nice +10) than the event loop, so a login storm takes the CPU the event loop leaves
 *   idle rather than half of it, and token requests keep their latency. With an idle event loop, hashing still
 *   gets every core. (The pool also runs WebCrypto signatures; they compete with hashing on equal terms.)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, getPriority, setPriority } from 'node:os';
import argon2 from 'argon2';

export interface Argon2Params {
  readonly memoryCost: number;
  readonly timeCost: number;
  readonly parallelism: number;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** `ok` false for a wrong password; `rehash` true when the stored hash uses outdated parameters. */
  verify(hash: string, password: string): Promise<{ ok: boolean; rehash: boolean }>;
  /** Spends the same time as a real verify, so unknown users cost what known users cost. */
  verifyDummy(password: string): Promise<void>;
}

export const MAX_PASSWORD_LENGTH = 1024;

/** How many hashes may run at once: the cores, but never the whole libuv thread pool. */
export function hashingSlots(): number {
  const pool = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  return Math.max(1, Math.min(availableParallelism(), pool - 1));
}

/** The nice value of libuv's pool threads (0 is the event loop's; 19 the lowest priority). */
export const POOL_NICE = 10;

/** libuv's pool threads of this process (Linux names them `libuv-worker`). */
export function poolThreads(): number[] {
  if (process.platform !== 'linux') return [];
  try {
    return readdirSync('/proc/self/task')
      .filter((tid) => readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() === 'libuv-worker')
      .map(Number);
  } catch {
    return [];
  }
}

/** Lowers the pool threads' priority (never raises it: that would need privileges). Best effort. */
function deprioritizePool(): void {
  for (const tid of poolThreads()) {
    try {
      setPriority(tid, Math.max(POOL_NICE, getPriority(tid)));
    } catch {
      // Without it hashing competes with the event loop on equal terms; nothing else changes.
    }
  }
}

/** Runs at most `slots` of the given operations at once, the rest in arrival order. */
function limited(slots: number): <T>(op: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async (op) => {
    if (running < slots) running++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await op();
    } finally {
      // A waiter takes over this slot directly, so `running` stays the same.
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

export async function createPasswordHasher(params: Argon2Params): Promise<PasswordHasher> {
  const options = { type: argon2.argon2id, ...params } as const;
  const slot = limited(hashingSlots());
  const dummyHash = await argon2.hash('gatehouse-dummy-password', options);
  // The pool exists now (libuv starts all its threads on first use).
  deprioritizePool();
  return {
    hash: (password) => slot(() => argon2.hash(password, options)),
    async verify(hash, password) {
      try {
        const ok = await slot(() => argon2.verify(hash, password));
        return { ok, rehash: ok && argon2.needsRehash(hash, options) };
      } catch {
        return { ok: false, rehash: false };
      }
    },
    async verifyDummy(password) {
      await slot(() => argon2.verify(dummyHash, password)).catch(() => false);
    },
  };
}
