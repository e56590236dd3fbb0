/**
 * A small real issuer for middleware tests: an HTTP server on port 0 serving a discovery document and a JWKS
 * made of keys the test owns, so tests can sign any token (expired, wrong aud, forged kid...) and rotate keys.
 * It counts JWKS fetches so cache and cooldown rules can be asserted.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ExecutionContext } from 'ava';
import * as jose from 'jose';

export interface TestKey {
  kid: string;
  alg: string;
  privateKey: jose.CryptoKey;
  publicJwk: jose.JWK;
}

export async function makeKey(kid: string, alg = 'ES256'): Promise<TestKey> {
  const { privateKey, publicKey } = await jose.generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await jose.exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk };
}

export interface TestIssuer {
  issuer: string;
  /** Keys currently published in the JWKS (mutable: rotate by assigning). */
  published: TestKey[];
  /** When true, every request answers 503 (the issuer is down). */
  down: boolean;
  jwksFetches(): number;
  sign(claims: jose.JWTPayload, opts?: { key?: TestKey; typ?: string | null; kid?: string | null }): Promise<string>;
  /** A claim set that passes every check for `audience`. */
  goodClaims(audience: string, extra?: jose.JWTPayload): jose.JWTPayload;
}

export async function startTestIssuer(t: ExecutionContext, keys: TestKey[]): Promise<TestIssuer> {
  let fetches = 0;
  const state = { published: keys, down: false };
  const server = createServer((req, res) => {
    if (state.down) {
      res.statusCode = 503;
      res.end();
    } else if (req.url === '/.well-known/openid-configuration') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
    } else if (req.url === '/jwks') {
      fetches += 1;
      res.setHeader('content-type', 'application/jwk-set+json');
      res.end(JSON.stringify({ keys: state.published.map((k) => k.publicJwk) }));
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const first = keys[0] as TestKey;
  return {
    issuer,
    get published() {
      return state.published;
    },
    set published(v: TestKey[]) {
      state.published = v;
    },
    get down() {
      return state.down;
    },
    set down(v: boolean) {
      state.down = v;
    },
    jwksFetches: () => fetches,
    async sign(claims, opts = {}) {
      const key = opts.key ?? first;
      const header: jose.JWTHeaderParameters = { alg: key.alg };
      if (opts.typ !== null) header.typ = opts.typ ?? 'at+jwt';
      if (opts.kid !== null) header.kid = opts.kid ?? key.kid;
      return new jose.SignJWT(claims).setProtectedHeader(header).sign(key.privateKey);
    },
    goodClaims(audience, extra = {}) {
      const now = Math.floor(Date.now() / 1000);
      return {
        iss: issuer,
        sub: 'user-1',
        aud: audience,
        client_id: 'demo-client',
        iat: now,
        exp: now + 60,
        jti: `jti-${Math.random().toString(36).slice(2)}`,
        scope: 'api:read',
        roles: ['user'],
        ...extra,
      };
    },
  } as TestIssuer;
}
