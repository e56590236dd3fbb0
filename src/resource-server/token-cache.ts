/**
 * A bounded cache of successfully validated JWT access tokens, so a resource server verifies each token's
 * signature once rather than on every request (one ES256 verification costs several times a whole plain Koa
 * request). Prior art: Envoy's jwt_authn `jwt_cache_config`.
 *
 * Rules:
 * - A hit needs the exact token string: a token that differs in a single byte never matches, so a tampered token
 *   can never be answered from the cache; it goes through full verification and fails there. The map is indexed
 *   by the token's last 32 characters (its signature's tail) and the entry holds the whole token, compared on
 *   every lookup: V8 hashes a fresh string character by character on each Map lookup, so a key of the whole
 *   token (hundreds of characters) would cost more than the rest of the cache hit. Two tokens sharing a tail merely
 *   share a slot (the later one replaces the earlier); that never turns a mismatch into a hit.
 * - Only successes are stored (the caller never inserts a failure); a token whose `nbf` or `iat` is still in the
 *   future (accepted only thanks to the clock leeway) is not stored until it is valid without the leeway.
 * - On every hit `exp` is re-checked exactly as the full verification checks it (`exp <= now - leeway` is
 *   expired, whole seconds); an expired entry is dropped and reported as a miss, so the full verification
 *   refuses the token with the same error as without a cache.
 * - An entry also lives at most `maxAgeMs` after it was verified, whatever its `exp`.
 * - At most `maxEntries` entries; inserting one more evicts the least recently used. `maxEntries` 0 turns the
 *   cache off (nothing is stored, every lookup misses).
 * - While `bypassWhile()` is true (the key set is due for a reload) every lookup misses, so the full verification
 *   runs and reloads the keys; cached answers never keep an old key set alive.
 * - `clear()` empties it; the guard calls it when the key set retires or changes a key, so a token signed by a
 *   retired (or compromised) key stops working at once. `generation` lets a verification that started before a
 *   clear avoid inserting a result obtained with the old keys.
 */
import type { AccessToken } from './access-token.ts';

interface TokenCacheOptions {
  /** Most entries kept; 0 turns the cache off. */
  maxEntries: number;
  /** Longest an entry is trusted after its verification, in milliseconds. */
  maxAgeMs: number;
  /** Clock leeway of the full verification, in seconds (the same value must be used here). */
  clockToleranceSeconds: number;
  /** While this returns true every lookup misses (the guard passes "the key set is due for a reload"). */
  bypassWhile?: () => boolean;
}

export interface TokenCacheStats {
  readonly size: number;
  readonly maxEntries: number;
  readonly hits: number;
  readonly misses: number;
  readonly evictions: number;
  readonly clears: number;
}

/** Length of the token tail the map is indexed by (see the rules above). */
const INDEX_CHARS = 32;

interface Entry {
  /** The whole token: a lookup hits only if the presented token equals it. */
  readonly raw: string;
  readonly token: AccessToken;
  /** performance.now() after which the entry is no longer trusted (max age). */
  readonly staleAt: number;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

export class VerifiedTokenCache {
  readonly #opts: TokenCacheOptions;
  /** Token tail → entry. Map keeps insertion order: the first is the least recently used (a hit re-inserts). */
  readonly #entries = new Map<string, Entry>();
  #hits = 0;
  #misses = 0;
  #evictions = 0;
  #clears = 0;
  /** Bumped by clear(): a result computed under an older generation must not be inserted. */
  generation = 0;

  constructor(opts: TokenCacheOptions) {
    if (!Number.isInteger(opts.maxEntries) || opts.maxEntries < 0)
      throw new Error('token cache maxEntries must be an integer >= 0');
    if (!(opts.maxAgeMs > 0)) throw new Error('token cache maxAgeMs must be > 0');
    this.#opts = opts;
  }

  get enabled(): boolean {
    return this.#opts.maxEntries > 0;
  }

  /** The validated token, or undefined (not cached, expired, or older than the max age). */
  get(raw: string): AccessToken | undefined {
    if (!this.enabled) return undefined;
    const index = raw.slice(-INDEX_CHARS);
    const entry = this.#opts.bypassWhile?.() ? undefined : this.#entries.get(index);
    if (entry === undefined || entry.raw !== raw) {
      this.#misses += 1;
      return undefined;
    }
    this.#entries.delete(index);
    if (entry.token.exp <= nowSeconds() - this.#opts.clockToleranceSeconds || performance.now() > entry.staleAt) {
      this.#misses += 1;
      return undefined;
    }
    this.#entries.set(index, entry);
    this.#hits += 1;
    return entry.token;
  }

  /**
   * Stores a token that just passed full verification under `generation` (read before verifying). Not stored:
   * cache off, the key set changed meanwhile, or a token that is not yet valid without the leeway.
   */
  set(raw: string, token: AccessToken, generation: number): void {
    if (!this.enabled || generation !== this.generation) return;
    const now = nowSeconds();
    const { nbf, iat } = token.claims;
    if ((typeof nbf === 'number' && nbf > now) || (typeof iat === 'number' && iat > now)) return;
    const index = raw.slice(-INDEX_CHARS);
    this.#entries.delete(index);
    this.#entries.set(index, { raw, token, staleAt: performance.now() + this.#opts.maxAgeMs });
    while (this.#entries.size > this.#opts.maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
      this.#evictions += 1;
    }
  }

  clear(): void {
    this.#entries.clear();
    this.generation += 1;
    this.#clears += 1;
  }

  stats(): TokenCacheStats {
    return {
      size: this.#entries.size,
      maxEntries: this.#opts.maxEntries,
      hits: this.#hits,
      misses: this.#misses,
      evictions: this.#evictions,
      clears: this.#clears,
    };
  }
}
