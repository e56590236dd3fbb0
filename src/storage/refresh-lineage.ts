/**
 * Refresh-token lineages: the format of a refresh token and the rules every store applies to it. The Redis
 * scripts (redis/scripts.ts, LINEAGE) implement the same decisions in Lua; tests/storage/contract.ts checks both
 * stores against them. docs/storage.md explains the design and its threat model.
 *
 * A lineage is what one code exchange starts: its first refresh token and every successor rotated from it. A
 * refresh token names its lineage and its generation and is authenticated by the store's key:
 *
 *     <grantId>.<lineage>.<generation, base 36>.<MAC>     MAC = HMAC-SHA256(key, "rt1|grant|lineage|gen")[0..16)
 *
 * so the store keeps one record per lineage — the current generation N, when it became current, when it was
 * consumed, and its payload — instead of one record per token, and still recognises every token it ever issued.
 *
 * Rules (grace = the reuse interval; the clock is the store's):
 * - A token whose MAC does not verify is unknown: found as nothing, consumed as "missing", revokes nothing.
 * - Generation N, not consumed: live. Consumed less than `grace` ago: still found live, a second consume is a
 *   no-op (the request that consumed it is saving N+1). Consumed longer ago: reuse.
 * - Generation N-1 less than `grace` after N became current: found live, its consume is a no-op, and its
 *   successor is N again — the same token value, so the lineage never forks: two tabs or a retried request get
 *   the token that is already current. Later: reuse.
 * - Any older generation, at any depth: reuse. Reuse answers `invalid_grant` and revokes the whole grant.
 * - A generation above N is unknown (it was never issued).
 * - A save of N+1 advances the lineage; a save of N (the grace case) rewrites the payload; anything else is stale
 *   and ignored. A lineage that does not exist is created only at generation 0, so a revoked or expired lineage
 *   is never brought back by a save that raced with its revocation.
 */
import { createHmac, createSecretKey, type KeyObject, randomBytes, timingSafeEqual } from 'node:crypto';

export interface LineageToken {
  readonly grantId: string;
  readonly lineage: string;
  readonly gen: number;
}

const FORMAT = /^([A-Za-z0-9_-]{8,128})\.([A-Za-z0-9_-]{22})\.([0-9a-z]{1,8})\.([A-Za-z0-9_-]{22})$/;
const MAX_GEN = 36 ** 8 - 1;

/** How many verified values `parse` remembers: one request parses its token several times (prefetch, find, consume, successor). */
const VERIFIED_CACHE = 1024;

/** Mints and verifies refresh-token values with the store's key (32 random bytes, one per store). */
export class RefreshTokenCodec {
  readonly #key: KeyObject;
  /** Values whose MAC verified, with what they name (a pure function of the value and the key). */
  readonly #verified = new Map<string, LineageToken>();

  constructor(key: Buffer) {
    if (key.length < 32) throw new RangeError('the refresh-token key must be at least 32 bytes');
    this.#key = createSecretKey(key);
  }

  #mac(grantId: string, lineage: string, gen: number): Buffer {
    return createHmac('sha256', this.#key).update(`rt1|${grantId}|${lineage}|${gen}`).digest().subarray(0, 16);
  }

  mint({ grantId, lineage, gen }: LineageToken): string {
    if (!Number.isSafeInteger(gen) || gen < 0 || gen > MAX_GEN)
      throw new RangeError('refresh-token generation out of range');
    if (!/^[A-Za-z0-9_-]{8,128}$/.test(grantId)) throw new TypeError('a refresh token needs a well-formed grantId');
    return `${grantId}.${lineage}.${gen.toString(36)}.${this.#mac(grantId, lineage, gen).toString('base64url')}`;
  }

  /** The lineage and generation of a value this store minted; undefined for anything else. */
  parse(value: string): LineageToken | undefined {
    const known = this.#verified.get(value);
    if (known) return known;
    const token = this.#verify(value);
    if (token) {
      if (this.#verified.size >= VERIFIED_CACHE) this.#verified.delete(this.#verified.keys().next().value as string);
      this.#verified.set(value, token);
    }
    return token;
  }

  #verify(value: string): LineageToken | undefined {
    const m = FORMAT.exec(value);
    if (!m) return undefined;
    const [, grantId, lineage, gen36, mac] = m as unknown as [string, string, string, string, string];
    const gen = Number.parseInt(gen36, 36);
    if (gen36 !== gen.toString(36)) return undefined;
    const given = Buffer.from(mac, 'base64url');
    // One spelling per token: base64url's last character carries 4 unused bits, which must be zero.
    if (given.length !== 16 || given.toString('base64url') !== mac) return undefined;
    if (!timingSafeEqual(given, this.#mac(grantId, lineage, gen))) return undefined;
    return Object.freeze({ grantId, lineage, gen });
  }

  /** A fresh lineage id (a code exchange). */
  static newLineage(): string {
    return randomBytes(16).toString('base64url');
  }

  /**
   * The lineage that continues a refresh token of the earlier one-record-per-token format: derived from its id,
   * so presenting the old token again within the grace period yields the same successor.
   */
  legacyLineage(oldId: string): string {
    return createHmac('sha256', this.#key).update(`rt1-legacy|${oldId}`).digest().subarray(0, 16).toString('base64url');
  }
}

/** What a store keeps per lineage. Times are the store's clock, in ms. */
export interface LineageState {
  /** The current generation. */
  readonly n: number;
  /** When generation `n` became current. */
  readonly r: number;
  /** When generation `n` was consumed, if it was. */
  readonly c: number | undefined;
}

/** How a presented generation stands: live (also within grace), used (reuse), or unknown. */
type Standing = { kind: 'live' } | { kind: 'used'; atMs: number } | { kind: 'unknown' };

export function standing(state: LineageState, gen: number, nowMs: number, graceMs: number): Standing {
  if (gen > state.n) return { kind: 'unknown' };
  if (gen === state.n) {
    if (state.c === undefined || (graceMs > 0 && nowMs - state.c < graceMs)) return { kind: 'live' };
    return { kind: 'used', atMs: state.c };
  }
  if (gen === state.n - 1 && graceMs > 0 && nowMs - state.r < graceMs) return { kind: 'live' };
  return { kind: 'used', atMs: state.r };
}

type ConsumeOutcome = 'ok' | 'grace' | 'reuse' | 'missing';

export function consumeOutcome(
  state: LineageState | undefined,
  gen: number,
  nowMs: number,
  graceMs: number,
): ConsumeOutcome {
  if (!state || gen > state.n) return 'missing';
  if (gen === state.n && state.c === undefined) return 'ok';
  return standing(state, gen, nowMs, graceMs).kind === 'live' ? 'grace' : 'reuse';
}

type SaveOutcome = 'create' | 'advance' | 'rewrite' | 'stale';

export function saveOutcome(state: LineageState | undefined, gen: number): SaveOutcome {
  if (!state) return gen === 0 ? 'create' : 'stale';
  if (gen === state.n + 1) return 'advance';
  if (gen === state.n) return 'rewrite';
  return 'stale';
}
