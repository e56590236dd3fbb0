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

export interface PrivateJwks {
  keys: JWK[];
}

const ALGS: readonly SigningAlg[] = ['RS256', 'ES256', 'EdDSA'];

export async function generateKey(alg: SigningAlg): Promise<JWK> {
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
  if (typeof jwks !== 'object' || jwks === null || !Array.isArray((jwks as PrivateJwks).keys)) {
    throw new ConfigError(`${source}: must be a JWKS object with a "keys" array`);
  }
  const kids = new Set<string>();
  const keys = (jwks as PrivateJwks).keys;
  keys.forEach((k, i) => {
    if (typeof k.kid !== 'string' || k.kid.length === 0) throw new ConfigError(`${source}: keys[${i}] has no kid`);
    if (kids.has(k.kid)) throw new ConfigError(`${source}: keys[${i}] repeats kid ${k.kid}`);
    kids.add(k.kid);
    if (!k.d) throw new ConfigError(`${source}: keys[${i}] (${k.kid}) is not a private key`);
    if (typeof k.alg !== 'string' || !ALGS.includes(k.alg as SigningAlg)) {
      throw new ConfigError(`${source}: keys[${i}] (${k.kid}) needs alg, one of ${ALGS.join(', ')}`);
    }
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

/** Cookie signing keys: configured ones, or in development a random set kept under the data directory. */
export function loadCookieKeys(config: Config): string[] {
  if (config.cookieKeys.length > 0) return [...config.cookieKeys];
  const path = join(config.dataDir, 'dev-cookie-keys.json');
  try {
    const keys: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (Array.isArray(keys) && keys.length > 0 && keys.every((k) => typeof k === 'string' && k.length >= 32))
      return keys;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new ConfigError(`${path}: unreadable development cookie keys`);
  }
  const keys = [randomBytes(32).toString('base64url')];
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(keys)}\n`, { mode: 0o600 });
  return keys;
}
