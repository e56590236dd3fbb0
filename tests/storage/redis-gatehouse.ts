/**
 * Gatehouse on a real Redis for the storage tests: a confidential client `web` (static, from config), a user
 * `alice` created through the account service, shared cookie and signing keys so that several instances on one
 * Redis (same key prefix) are interchangeable, and small raw HTTP helpers for the token endpoint.
 */
import type { ExecutionContext } from 'ava';
import type * as oidc from 'openid-client';
import { generateJwks } from '../../src/provider/keys.ts';
import { authorizeWithPkce, discoverClient } from '../helpers/browserless-login.ts';
import { startGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';

export const REDIRECT = 'http://localhost:5000/callback';
export const CLIENT = { id: 'web', secret: 'web-secret-that-is-long-enough-0123456789abcdef' };
export const USER = { username: 'alice', password: 'correct horse battery staple' };

export interface Shared {
  keyPrefix: string;
  jwks: string;
  cookieKeys: string[];
}

let n = 0;
export async function sharedSettings(): Promise<Shared> {
  return {
    keyPrefix: `gh${process.pid}x${n++}:`,
    jwks: JSON.stringify(await generateJwks()),
    cookieKeys: ['a-cookie-key-for-tests-that-is-long-enough-0123456789'],
  };
}

export async function startRedisGatehouse(
  t: ExecutionContext,
  url: string,
  shared: Shared,
  overrides: Record<string, unknown> = {},
): Promise<TestGatehouse> {
  const gh = await startGatehouse(t, {
    'redis.url': url,
    'redis.keyPrefix': shared.keyPrefix,
    jwks: shared.jwks,
    cookieKeys: shared.cookieKeys,
    clients: [
      {
        client_id: CLIENT.id,
        client_secret: CLIENT.secret,
        redirect_uris: [REDIRECT],
        post_logout_redirect_uris: ['http://localhost:5000/'],
        grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
        scope: 'openid profile email offline_access api:read',
      },
    ],
    ...overrides,
  });
  if (!(await gh.gatehouse.store.accounts.findByUsername(USER.username))) {
    await gh.gatehouse.accounts.create({
      username: USER.username,
      password: USER.password,
      email: 'alice@example.com',
      roles: ['user'],
    });
  }
  return gh;
}

export async function discover(gh: TestGatehouse): Promise<oidc.Configuration> {
  return discoverClient(gh.issuer, CLIENT.id, CLIENT.secret);
}

/** Signs alice in through the pages and returns the code, its verifier and the browser's cookie jar. */
export async function authorize(gh: TestGatehouse, config: oidc.Configuration, extra: Record<string, string> = {}) {
  const { callback, verifier, jar } = await authorizeWithPkce(config, gh.issuer, USER, {
    redirect_uri: REDIRECT,
    scope: 'openid offline_access',
    ...extra,
  });
  const code = callback.searchParams.get('code');
  if (!code) throw new Error(`no code: ${callback.searchParams.get('error')}`);
  return { code, verifier, callback, jar };
}

/** POST /token with client_secret_basic; returns status and JSON body. */
export async function tokenRequest(
  issuer: string,
  params: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(new URL('/token', issuer), {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
      authorization: `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`,
    },
    body: new URLSearchParams(params).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

export async function exchangeCode(issuer: string, code: string, verifier: string) {
  return tokenRequest(issuer, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT,
    code_verifier: verifier,
  });
}

export async function refresh(issuer: string, refreshToken: string) {
  return tokenRequest(issuer, { grant_type: 'refresh_token', refresh_token: refreshToken });
}

/** Counts the socket writes of an ioredis connection: one per round trip (commands of one tick share a write). */
export function countWrites(client: unknown): { reset(): void; readonly count: number } {
  const stream = (client as { stream: { write: (...a: unknown[]) => boolean } }).stream;
  const write = stream.write.bind(stream);
  let writes = 0;
  stream.write = (...a: unknown[]) => {
    writes++;
    return write(...a);
  };
  return {
    reset: () => {
      writes = 0;
    },
    get count() {
      return writes;
    },
  };
}
