/**
 * The authorization server's public signing keys, fetched from its `jwks_uri` and cached.
 *
 * Rules:
 * - Loaded on first use, reloaded when older than `maxAgeMs`; a failed reload keeps the keys we have and is
 *   retried after 5 s, not on every request.
 * - A token naming a `kid` we do not know triggers ONE refetch (a new key after a rotation), but at most one
 *   such refetch per `unknownKidCooldownMs`: a stream of forged kids costs the authorization server one request
 *   per cooldown, not one per token. Loads caused by age do not count, so a rotation right after start-up is
 *   picked up at once.
 * - Only public signature keys are used: `use` absent or `sig`, kty EC/RSA/OKP, no private members; a key with an
 *   `alg` is used for that algorithm only. A token without `kid` is accepted only if exactly one key fits its alg.
 * - One fetch in flight at a time.
 * - A reload that drops or changes a key we had (a retired or replaced kid) tells the `onRetire` listeners before
 *   the new keys are used, so caches of tokens verified with the old keys are emptied at once. A reload that only
 *   adds keys does not.
 */
import * as jose from 'jose';
import { AuthorizationServerUnavailable, BearerError } from './bearer-error.ts';
import { fetchJson } from './fetch-json.ts';

interface KeySetOptions {
  /** Where the keys are (resolved lazily, e.g. from discovery). */
  jwksUri: () => Promise<string>;
  timeoutMs?: number;
  maxAgeMs?: number;
  unknownKidCooldownMs?: number;
  /** Called when a reload retires or changes a key that was in the set (see the rules above). */
  onRetire?: () => void;
}

/** After a failed reload, keep serving the cached keys this long before trying again. */
const RETRY_AFTER_FAILURE_MS = 5000;

type VerifyKey = Awaited<ReturnType<typeof jose.importJWK>>;

const KTY_FOR_ALG: Record<string, string> = { RS: 'RSA', PS: 'RSA', ES: 'EC', Ed: 'OKP' };

function ktyFor(alg: string): string | undefined {
  return KTY_FOR_ALG[alg.slice(0, 2)];
}

function usable(jwk: jose.JWK): boolean {
  return (
    (jwk.use === undefined || jwk.use === 'sig') &&
    (jwk.kty === 'EC' || jwk.kty === 'RSA' || jwk.kty === 'OKP') &&
    jwk.d === undefined &&
    jwk.k === undefined
  );
}

export class KeySet {
  readonly #opts: Required<Omit<KeySetOptions, 'onRetire'>>;
  readonly #onRetire: (() => void) | undefined;
  #jwks: jose.JWK[] = [];
  #loadedAt = Number.NEGATIVE_INFINITY;
  #lastUnknownKidRefetch = Number.NEGATIVE_INFINITY;
  #failedAt = Number.NEGATIVE_INFINITY;
  #inFlight: Promise<void> | undefined;
  readonly #imported = new Map<jose.JWK, Map<string, VerifyKey>>();
  /** How many times the JWKS was fetched (exposed for metrics and tests). */
  fetches = 0;

  constructor(opts: KeySetOptions) {
    this.#opts = {
      jwksUri: opts.jwksUri,
      timeoutMs: opts.timeoutMs ?? 5000,
      maxAgeMs: opts.maxAgeMs ?? 10 * 60_000,
      unknownKidCooldownMs: opts.unknownKidCooldownMs ?? 30_000,
    };
    this.#onRetire = opts.onRetire;
  }

  /**
   * True when the next key resolution would reload the set (older than maxAgeMs and not inside the retry delay
   * after a failure). A cache in front of verification asks this so cached answers do not keep stale keys alive.
   */
  get stale(): boolean {
    const now = performance.now();
    return now - this.#loadedAt > this.#opts.maxAgeMs && now - this.#failedAt > RETRY_AFTER_FAILURE_MS;
  }

  async #load(): Promise<void> {
    this.#inFlight ??= (async () => {
      try {
        this.fetches += 1;
        const doc = await fetchJson(await this.#opts.jwksUri(), {
          timeoutMs: this.#opts.timeoutMs,
          init: { headers: { accept: 'application/json' } },
        });
        const keys = Array.isArray(doc.keys)
          ? (doc.keys as jose.JWK[]).filter((k) => typeof k === 'object' && k !== null && usable(k))
          : [];
        const kept = new Set(keys.map((k) => JSON.stringify(k)));
        const retired = this.#jwks.some((k) => !kept.has(JSON.stringify(k)));
        this.#jwks = keys;
        if (retired) this.#onRetire?.();
        this.#loadedAt = performance.now();
        this.#imported.clear();
      } finally {
        this.#inFlight = undefined;
      }
    })();
    return this.#inFlight;
  }

  #candidates(header: jose.JWSHeaderParameters): jose.JWK[] {
    const alg = header.alg ?? '';
    return this.#jwks.filter(
      (k) =>
        (header.kid === undefined || k.kid === header.kid) &&
        (k.alg === undefined || k.alg === alg) &&
        k.kty === ktyFor(alg),
    );
  }

  async #import(jwk: jose.JWK, alg: string): Promise<VerifyKey> {
    let byAlg = this.#imported.get(jwk);
    if (!byAlg) {
      byAlg = new Map();
      this.#imported.set(jwk, byAlg);
    }
    let key = byAlg.get(alg);
    if (!key) {
      try {
        key = await jose.importJWK(jwk, alg);
      } catch {
        throw new BearerError('invalid_token', 'the signing key cannot be used for this algorithm');
      }
      byAlg.set(alg, key);
    }
    return key;
  }

  /** The key-resolution function jose.jwtVerify calls with the token's protected header. */
  readonly resolve = async (header: jose.JWSHeaderParameters): Promise<VerifyKey> => {
    const alg = header.alg ?? '';
    if (!ktyFor(alg)) throw new BearerError('invalid_token', 'unsupported signing algorithm');
    const stale = this.stale;
    if (stale) {
      try {
        await this.#load();
      } catch (err) {
        this.#failedAt = performance.now();
        if (this.#jwks.length === 0) throw err;
      }
    }
    if (this.#jwks.length === 0 && this.#failedAt > this.#loadedAt)
      throw new AuthorizationServerUnavailable('signing keys are unavailable');
    let found = this.#candidates(header);
    const cooled = performance.now() - this.#lastUnknownKidRefetch >= this.#opts.unknownKidCooldownMs;
    if (found.length === 0 && header.kid !== undefined && !stale && cooled) {
      this.#lastUnknownKidRefetch = performance.now();
      await this.#load();
      found = this.#candidates(header);
    }
    if (found.length === 0) throw new BearerError('invalid_token', 'the token is signed with an unknown key');
    if (found.length > 1) throw new BearerError('invalid_token', 'the token does not say which key signed it (kid)');
    return this.#import(found[0] as jose.JWK, alg);
  };
}
