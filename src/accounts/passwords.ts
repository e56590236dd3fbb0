/**
 * argon2id hashing. Defaults are OWASP's (19 MiB, t=2, p=1) and come from config. `verify` reports when a hash
 * was made with other parameters so the caller can re-hash on a successful login.
 *
 * Rules:
 * - Hashing runs on Gatehouse's own hashing threads (./hashing-pool.ts), never on the event loop and never on
 *   libuv's shared pool, so a login storm neither blocks request handling nor queues the WebCrypto signatures of
 *   ID tokens and JWT access tokens; the threads run at a lower priority than the event loop (Linux).
 * - Hashes are PHC strings (./phc.ts), interchangeable with those of the `argon2` npm package.
 * - A stored hash that cannot be read verifies as false, never as an error.
 * - Node older than 24.7 has no `crypto.argon2Sync`: there the `argon2` package hashes instead, on libuv's pool
 *   (same hashes; only the isolation from WebCrypto is lost).
 */
import * as crypto from 'node:crypto';
import argon2 from 'argon2';
import { hashingPool } from './hashing-pool.ts';
import { parsePhc } from './phc.ts';

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

/** Hash and check on the hashing threads, or with the `argon2` package where Node cannot. */
function engine(params: Argon2Params) {
  if (typeof (crypto as { argon2Sync?: unknown }).argon2Sync !== 'function') {
    return {
      hash: (password: string) => argon2.hash(password, { type: argon2.argon2id, ...params }),
      check: (phc: string, password: string) => argon2.verify(phc, password),
    };
  }
  const pool = hashingPool();
  return {
    hash: async (password: string) => (await pool.run({ kind: 'hash', password, ...params })).phc as string,
    check: async (phc: string, password: string) => (await pool.run({ kind: 'verify', phc, password })).ok === true,
  };
}

export async function createPasswordHasher(params: Argon2Params): Promise<PasswordHasher> {
  const { hash, check } = engine(params);
  const outdated = (phc: string) => {
    const p = parsePhc(phc);
    return !p || p.memoryCost !== params.memoryCost || p.timeCost !== params.timeCost || p.parallelism !== params.parallelism;
  };
  const dummyHash = await hash('gatehouse-dummy-password');
  return {
    hash,
    async verify(stored, password) {
      try {
        const ok = await check(stored, password);
        return { ok, rehash: ok && outdated(stored) };
      } catch {
        return { ok: false, rehash: false };
      }
    },
    async verifyDummy(password) {
      await check(dummyHash, password).catch(() => false);
    },
  };
}
