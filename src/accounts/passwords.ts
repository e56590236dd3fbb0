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
 * - Passwords are Unicode-normalised to NFC before hashing and verifying, so the same password typed on systems
 *   that compose characters differently (é as one code point or as e + accent) is the same password. Hashes made
 *   from the raw form (before normalisation was introduced) still verify: NFC is tried first, then the raw form
 *   if it differs, and a raw-form match asks for a rehash. Every verification of such a password — dummy or real —
 *   spends the same two checks, so the second check cannot tell accounts apart.
 * - A password longer than MAX_PASSWORD_LENGTH is never hashed: it cannot have been set, so it verifies as false.
 * - Verifications are bounded (`maxQueuedPerThread`, ./hashing-pool.ts): a full queue fails with HashingBusy, a
 *   fired AbortSignal with HashingAborted; both propagate (the caller answers), every other error is a failed
 *   verification.
 * - Node older than 24.7 has no `crypto.argon2Sync`: there the `argon2` package hashes instead, on libuv's pool
 *   (same hashes; only the isolation from WebCrypto is lost).
 */
import * as crypto from 'node:crypto';
import argon2 from 'argon2';
import { HashingAborted, HashingBusy, hashingPool } from './hashing-pool.ts';
import { parsePhc } from './phc.ts';

interface Argon2Params {
  readonly memoryCost: number;
  readonly timeCost: number;
  readonly parallelism: number;
}

interface HasherOptions {
  /** Verifications waiting per hashing thread before new ones are refused (HashingBusy). Unset: no bound. */
  readonly maxQueuedPerThread?: number;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /**
   * `ok` false for a wrong password; `rehash` true when the stored hash uses outdated parameters or was made from
   * the password's raw (not NFC) form. `signal`: drop the check if the caller gives up while it waits.
   */
  verify(hash: string, password: string, signal?: AbortSignal): Promise<{ ok: boolean; rehash: boolean }>;
  /** Spends the same time as a real verify, so unknown users cost what known users cost. */
  verifyDummy(password: string, signal?: AbortSignal): Promise<void>;
}

export const MAX_PASSWORD_LENGTH = 1024;

type Check = (phc: string, password: string, signal?: AbortSignal) => Promise<boolean>;

/** Hash and check on the hashing threads, or with the `argon2` package where Node cannot (unbounded there). */
function engine(
  params: Argon2Params,
  options: HasherOptions,
): { hash: (password: string) => Promise<string>; check: Check } {
  const { memoryCost, timeCost, parallelism } = params;
  if (typeof (crypto as { argon2Sync?: unknown }).argon2Sync !== 'function') {
    return {
      hash: (password) => argon2.hash(password, { type: argon2.argon2id, memoryCost, timeCost, parallelism }),
      check: (phc, password) => argon2.verify(phc, password),
    };
  }
  const pool = hashingPool();
  return {
    hash: async (password) => {
      const { phc } = await pool.run({ kind: 'hash', password, memoryCost, timeCost, parallelism });
      if (phc === undefined) throw new Error('the hashing thread returned no hash');
      return phc;
    },
    check: async (phc, password, signal) =>
      (await pool.run({ kind: 'verify', phc, password }, { signal, maxQueuedPerThread: options.maxQueuedPerThread }))
        .ok === true,
  };
}

const passesThrough = (err: unknown) => err instanceof HashingBusy || err instanceof HashingAborted;

export async function createPasswordHasher(params: Argon2Params, options: HasherOptions = {}): Promise<PasswordHasher> {
  const { hash, check } = engine(params, options);
  const outdated = (phc: string) => {
    const p = parsePhc(phc);
    return (
      !p || p.memoryCost !== params.memoryCost || p.timeCost !== params.timeCost || p.parallelism !== params.parallelism
    );
  };
  /** Whether `password` matches `phc`, as NFC or (for hashes from before normalisation) as typed. */
  const matches = async (
    phc: string,
    password: string,
    signal?: AbortSignal,
  ): Promise<{ ok: boolean; raw: boolean }> => {
    if (password.length > MAX_PASSWORD_LENGTH) return { ok: false, raw: false };
    const nfc = password.normalize('NFC');
    const ok = await check(phc, nfc, signal).catch((err: unknown) => {
      if (passesThrough(err)) throw err;
      return false;
    });
    if (nfc === password) return { ok, raw: false };
    // Always the second check when the forms differ, matched or not, so its cost reveals nothing.
    const raw = await check(phc, password, signal).catch((err: unknown) => {
      if (passesThrough(err)) throw err;
      return false;
    });
    return { ok: ok || raw, raw: !ok && raw };
  };
  const dummyHash = await hash('gatehouse-dummy-password');
  return {
    hash: (password) => hash(password.normalize('NFC')),
    async verify(stored, password, signal) {
      const { ok, raw } = await matches(stored, password, signal);
      return { ok, rehash: ok && (raw || outdated(stored)) };
    },
    async verifyDummy(password, signal) {
      await matches(dummyHash, password, signal);
    },
  };
}
