/**
 * argon2id hashing. Defaults are OWASP's (19 MiB, t=2, p=1) and come from config. `verify` reports when a hash
 * was made with other parameters so the caller can re-hash on a successful login. Hashing runs on libuv's
 * thread pool (argon2's native binding), never on the event loop.
 */
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

export async function createPasswordHasher(params: Argon2Params): Promise<PasswordHasher> {
  const options = { type: argon2.argon2id, ...params } as const;
  const dummyHash = await argon2.hash('gatehouse-dummy-password', options);
  return {
    hash: (password) => argon2.hash(password, options),
    async verify(hash, password) {
      try {
        const ok = await argon2.verify(hash, password);
        return { ok, rehash: ok && argon2.needsRehash(hash, options) };
      } catch {
        return { ok: false, rehash: false };
      }
    },
    async verifyDummy(password) {
      await argon2.verify(dummyHash, password).catch(() => false);
    },
  };
}
