/**
 * Signing keys. Production supplies a private JWKS (JWKS_FILE or JWKS); development generates one RS256, one
 * ES256 and one EdDSA key on first start and keeps them under the data directory, so tokens survive restarts.
 *
 * Rules: every key has a unique non-empty `kid` and an `alg`; only private keys are accepted (oidc-provider
 * publishes the public parts only); RS256 must be present because OpenID conformance requires it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Config, SigningAlg } from '../config/types.ts';
import { ConfigError } from '../config/errors.ts';

/** A private signing key as Gatehouse keeps it: with its `kid` and its `alg` (validateJwks checks both). */
export type SigningJwk = JWK & { kid: string; alg: SigningAlg };

export interface PrivateJwks {
  keys: SigningJwk[];
}

const ALGS: readonly SigningAlg[] = ['RS256', 'ES256', 'EdDSA'];
const isSigningAlg = (alg: unknown): alg is SigningAlg => ALGS.some((a) => a === alg);

/** The key that signs with `alg`: the first key of that algorithm (a rotation keeps the signing key first). */
export function signingKeyFor(jwks: PrivateJwks, alg: SigningAlg): SigningJwk {
  const key = jwks.keys.find((k) => k.alg === alg);
  if (!key) throw new ConfigError(`signing keys: none has alg ${alg}, which the configuration signs with`);
  return key;
}

export async function generateKey(alg: SigningAlg): Promise<SigningJwk> {
  const { privateKey } = await generateKeyPair(
    alg,
    alg === 'EdDSA' ? { crv: 'Ed25519', extractable: true } : { extractable: true, modulusLength: 2048 },
  );
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: `${alg.toLowerCase()}-${randomUUID()}`, alg, use: 'sig' };
}

export async function generateJwks(algs: readonly SigningAlg[] = ALGS): Promise<PrivateJwks> {
  return { keys: await Promise.all(algs.map(generateKey)) };
}

export function validateJwks(jwks: unknown, source: string): PrivateJwks {
  const given: unknown = typeof jwks === 'object' && jwks !== null ? (jwks as { keys?: unknown }).keys : undefined;
  if (!Array.isArray(given)) throw new ConfigError(`${source}: must be a JWKS object with a "keys" array`);
  const kids = new Set<string>();
  const keys = given.map((entry: unknown, i): SigningJwk => {
    if (typeof entry !== 'object' || entry === null) throw new ConfigError(`${source}: keys[${i}] is not an object`);
    const k: JWK = entry;
    const { kid, alg } = k;
    if (typeof kid !== 'string' || kid.length === 0) throw new ConfigError(`${source}: keys[${i}] has no kid`);
    if (kids.has(kid)) throw new ConfigError(`${source}: keys[${i}] repeats kid ${kid}`);
    kids.add(kid);
    if (!k.d) throw new ConfigError(`${source}: keys[${i}] (${kid}) is not a private key`);
    if (!isSigningAlg(alg))
      throw new ConfigError(`${source}: keys[${i}] (${kid}) needs alg, one of ${ALGS.join(', ')}`);
    return { ...k, kid, alg };
  });
  if (!keys.some((k) => k.alg === 'RS256'))
    throw new ConfigError(`${source}: needs an RS256 key (OpenID conformance requires RS256 ID tokens)`);
  return { keys };
}

export async function loadKeys(config: Config): Promise<PrivateJwks> {
  if (config.jwks) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(config.jwks);
    } catch {
      throw new ConfigError('jwks (JWKS): not valid JSON');
    }
    return validateJwks(parsed, 'jwks (JWKS)');
  }
  if (config.jwksFile) {
    let text: string;
    try {
      text = readFileSync(config.jwksFile, 'utf8');
    } catch (err) {
      throw new ConfigError(
        `jwksFile (JWKS_FILE): cannot read ${config.jwksFile} (${(err as NodeJS.ErrnoException).code})`,
      );
    }
    try {
      return validateJwks(JSON.parse(text), 'jwksFile (JWKS_FILE)');
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError('jwksFile (JWKS_FILE): not valid JSON');
    }
  }
  const path = join(config.dataDir, 'dev-jwks.json');
  try {
    return validateJwks(JSON.parse(readFileSync(path, 'utf8')), path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const jwks = await generateJwks();
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(jwks, null, 2)}\n`, { mode: 0o600 });
  return jwks;
}

/** Cookie signing keys, newest first: there is always at least one, the key that signs. */
export type CookieKeys = [string, ...string[]];

/** Cookie signing keys: configured ones, or in development a random set kept under the data directory. */
export function loadCookieKeys(config: Config): CookieKeys {
  const [newest, ...older] = config.cookieKeys;
  if (newest !== undefined) return [newest, ...older];
  const path = join(config.dataDir, 'dev-cookie-keys.json');
  try {
    const keys: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (Array.isArray(keys) && keys.every((k) => typeof k === 'string' && k.length >= 32)) {
      const [stored, ...rest] = keys;
      if (stored !== undefined) return [stored, ...rest];
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new ConfigError(`${path}: unreadable development cookie keys`);
  }
  const keys: CookieKeys = [randomBytes(32).toString('base64url')];
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(keys)}\n`, { mode: 0o600 });
  return keys;
}
