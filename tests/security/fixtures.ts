/**
 * Shared pieces of the security tests: two confidential clients (A and B) and a public one, and a code flow
 * through the real sign-in pages with a real relying party (openid-client).
 */
import * as oidc from 'openid-client';
import type { ExecutionContext } from 'ava';
import { authorizeWithPkce, discoverClient } from '../helpers/browserless-login.ts';
import { defined } from '../helpers/defined.ts';
import { startGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';
import { startRedis } from '../helpers/redis.ts';

export const REDIRECT = 'https://app.example/cb';
export const API = 'http://localhost:4000';
export const SECRET_A = 'client-a-secret-5f1c0e4b7a9d2e8f3c6b1a0d9e8f7c6b5a4d3e2f1';
export const SECRET_B = 'client-b-secret-9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9';

/** Every OIDC scope and both scopes of the default resource server: these clients may ask for anything. */
export const ALL_SCOPES = 'openid profile email phone address offline_access api:read api:write';

export const CLIENTS = [
  {
    client_id: 'client-a',
    client_secret: SECRET_A,
    redirect_uris: [REDIRECT],
    post_logout_redirect_uris: ['https://app.example/bye'],
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    scope: ALL_SCOPES,
  },
  {
    client_id: 'client-b',
    client_secret: SECRET_B,
    redirect_uris: [REDIRECT],
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    scope: ALL_SCOPES,
  },
  {
    client_id: 'public-c',
    token_endpoint_auth_method: 'none',
    redirect_uris: ['https://spa.example/cb'],
    grant_types: ['authorization_code', 'refresh_token'],
    scope: ALL_SCOPES,
    first_party: true,
  },
];

/** An authorization request of the public client (PKCE S256, the RFC 7636 example challenge); it signs no one in. */
export const SPA_AUTH_PARAMS = {
  client_id: 'public-c',
  response_type: 'code',
  scope: 'openid',
  redirect_uri: 'https://spa.example/cb',
  code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGEzPpQP0A',
  code_challenge_method: 'S256',
};

export async function rp(issuer: string, clientId: 'client-a' | 'client-b'): Promise<oidc.Configuration> {
  return discoverClient(issuer, clientId, clientId === 'client-a' ? SECRET_A : SECRET_B);
}

export interface FlowResult {
  tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;
  code: string;
  verifier: string;
}

/** Signs demo in through the pages for `config`'s client and returns the tokens and the (now used) code. */
export async function codeFlow(
  issuer: string,
  config: oidc.Configuration,
  scope = 'openid offline_access api:read',
): Promise<FlowResult> {
  const { callback, verifier } = await authorizeWithPkce(config, issuer, DEMO_USER, { redirect_uri: REDIRECT, scope });
  const code = callback.searchParams.get('code') as string;
  const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier });
  return { tokens, code, verifier };
}

/** Only the code: the flow stops at the callback, so the code is still unused. */
export async function codeOnly(
  issuer: string,
  config: oidc.Configuration,
): Promise<{ code: string; verifier: string; callback: URL }> {
  const { callback, verifier } = await authorizeWithPkce(config, issuer, DEMO_USER, {
    redirect_uri: REDIRECT,
    scope: 'openid offline_access',
  });
  return { code: callback.searchParams.get('code') as string, verifier, callback };
}

const DEMO_USER = { username: 'demo', password: 'demo-password' };

/** A wrong password and a wrong client secret that no log line or audit event may carry. */
export const WRONG_PASSWORD = 'wrong-password-that-must-not-be-logged';
export const WRONG_SECRET = 'wrong-client-secret-that-must-not-be-logged-0123456789';

/**
 * The secrets every log test starts from (by name, for findLeaks): the demo password, both client secrets and the
 * wrong ones above. A fresh object each call: tests add the tokens and codes they obtain.
 */
export function knownSecrets(): Record<string, string> {
  return {
    'demo password': DEMO_USER.password,
    'wrong password': WRONG_PASSWORD,
    'secret A': SECRET_A,
    'secret B': SECRET_B,
    'wrong secret': WRONG_SECRET,
  };
}

/**
 * A Gatehouse on the memory store (the demo user seeded at start-up) or on a private Redis (the demo user created
 * here, as an operator would with the CLI), so that a test table can run the same checks on both.
 */
export async function gatehouseOn(
  t: ExecutionContext,
  store: 'memory' | 'redis',
  overrides: Record<string, unknown>,
): Promise<TestGatehouse> {
  if (store === 'memory') return startGatehouse(t, overrides);
  const gh = await startGatehouse(t, { ...overrides, 'redis.url': (await startRedis(t)).url });
  await gh.gatehouse.accounts.create({
    username: DEMO_USER.username,
    password: DEMO_USER.password,
    email: 'demo@example.com',
    roles: ['user'],
  });
  return gh;
}

/** The secrets a code flow produced (by name, for findLeaks). */
export function flowSecrets(flow: FlowResult): Record<string, string> {
  return {
    code: flow.code,
    verifier: flow.verifier,
    'access token': flow.tokens.access_token,
    'refresh token': defined(flow.tokens.refresh_token, 'a refresh token'),
    'id token': defined(flow.tokens.id_token, 'an ID token'),
  };
}

export function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

export const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
