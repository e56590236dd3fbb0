/**
 * The shared part of our reproduction of the OpenID Foundation conformance plans (Basic OP, Config OP,
 * RP-Initiated Logout; openid-certification/conformance-suite). Each test in tests/conformance/ reproduces one
 * module of the suite; this file holds what the suite's modules share:
 *
 * - the Gatehouse under test (one per test file) with the static clients the plans use (docs/conformance-clients.json
 *   holds the same clients for running the real suite);
 * - the browser side: authorization requests driven through Gatehouse's pages with a cookie jar;
 * - the suite's conditions, with the same thresholds: ID token (iss, aud, exp/iat with 5 minutes of skew, auth_time
 *   within a year, nonce, signature by `kid`, `sub` printable ASCII <= 255, at_hash), code length (>= 128 bits) and
 *   Shannon entropy (> 96 bits), token and error responses, userinfo, JWKS;
 * - the verdict of each module: a failed assertion is a FAILURE, `run.warn()` a WARNING (the suite's
 *   `ConditionResult.WARNING`), `run.skippedBySuite()` a module the real suite would skip (and we still check what
 *   Gatehouse does instead). `npm run conformance` (run.ts) reads the verdicts to print the table.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionContext, TestFn } from 'ava';
import * as jose from 'jose';
import { CookieJar, loginThroughPages, request } from '../helpers/browserless-login.ts';
import { seedDemoUser } from '../../src/demo/seed.ts';
import { startGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';
import { PROTOCOL_CLAIMS } from '../helpers/claims.ts';
import { perFile } from '../helpers/per-file.ts';

export const REDIRECT_URI = 'https://rp.example.test/callback';
export const POST_LOGOUT_REDIRECT_URI = 'https://rp.example.test/logged-out';
export const DEMO = { username: 'demo', password: 'demo-password' };

export interface StaticClient {
  client_id: string;
  client_secret: string;
  token_endpoint_auth_method: 'client_secret_basic' | 'client_secret_post';
}

const common = {
  redirect_uris: [REDIRECT_URI],
  post_logout_redirect_uris: [POST_LOGOUT_REDIRECT_URI],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  scope: 'openid profile email address phone offline_access',
  // auth_time in every ID token, so the suite's auth_time comparisons (prompt=login, max_age) always run.
  require_auth_time: true,
};

/** The suite's `client` (client_secret_basic). */
export const CLIENT: StaticClient = {
  client_id: 'conformance-client',
  client_secret: 'conformance-client-secret-0123456789abcdef0123456789',
  token_endpoint_auth_method: 'client_secret_basic',
};
/** The suite's `client2`, used where a module checks that one client's artefacts do not work for the other. */
export const CLIENT2: StaticClient = {
  client_id: 'conformance-client-2',
  client_secret: 'conformance-client-2-secret-0123456789abcdef01234567',
  token_endpoint_auth_method: 'client_secret_basic',
};
/** The client of `oidcc-server-client-secret-post` (variant client_auth_type=client_secret_post). */
export const CLIENT_POST: StaticClient = {
  client_id: 'conformance-client-post',
  client_secret: 'conformance-client-post-secret-0123456789abcdef0123',
  token_endpoint_auth_method: 'client_secret_post',
};

export const STATIC_CLIENTS = [CLIENT, CLIENT2, CLIENT_POST].map((c) => ({
  ...common,
  ...c,
  client_name: c.client_id,
}));

export interface Op {
  gh: TestGatehouse;
  issuer: string;
  discovery: Record<string, unknown> & {
    authorization_endpoint: string;
    token_endpoint: string;
    userinfo_endpoint: string;
    end_session_endpoint: string;
    jwks_uri: string;
  };
  jwks: jose.JSONWebKeySet;
  stop(): Promise<void>;
}

/**
 * One Gatehouse for a test file (tests in a file share it; each test uses its own browser cookie jar).
 * `overrides` as for startGatehouse (e.g. `redis.url`); on Redis, where nothing is seeded, the demo user is created.
 */
export async function startOp(overrides: Record<string, unknown> = {}): Promise<Op> {
  const gh = await startGatehouse(undefined, { clients: STATIC_CLIENTS, ...overrides });
  if (gh.gatehouse.store.kind !== 'memory') await seedDemoUser(gh.gatehouse.config, gh.gatehouse.accounts);
  const discovery = (await (await fetch(`${gh.issuer}/.well-known/openid-configuration`)).json()) as Op['discovery'];
  const jwks = (await (await fetch(discovery.jwks_uri)).json()) as jose.JSONWebKeySet;
  return {
    gh,
    issuer: gh.issuer,
    discovery,
    jwks,
    async stop() {
      gh.server.closeAllConnections();
      await new Promise<void>((resolve) => gh.server.close(() => resolve()));
      await gh.gatehouse.close();
    },
  };
}

/** The test file's Op (perFile): started before the file's tests, stopped after them. */
export function fileOp(test: TestFn): Op {
  return perFile(
    test,
    () => startOp(),
    (op) => op.stop(),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Verdicts

export type Plan =
  | 'oidcc-basic-certification-test-plan'
  | 'oidcc-config-certification-test-plan'
  | 'oidcc-rp-initiated-logout-certification-test-plan';

export interface ModuleVerdict {
  module: string;
  plan: Plan;
  result: 'PASSED' | 'WARNING' | 'SKIPPED' | 'FAILED';
  warnings: string[];
  note?: string;
}

export interface ModuleRun {
  /** The suite's `ConditionResult.WARNING`: recorded, does not fail the module. */
  warn(condition: boolean, message: string): void;
  /** The real suite would end this module as SKIPPED (a permitted outcome); the reason goes in the table. */
  skippedBySuite(reason: string): void;
  readonly warnings: readonly string[];
}

/** Starts a module: the ava test's title must be the module's name. Writes the verdict when the test ends. */
export function conformanceModule(t: ExecutionContext, plan: Plan): ModuleRun {
  const warnings: string[] = [];
  let skipped: string | undefined;
  const name = t.title;
  t.teardown(() => {
    const dir = process.env.CONFORMANCE_RESULTS_DIR;
    if (!dir) return;
    const verdict: ModuleVerdict = {
      module: name,
      plan,
      result: !t.passed ? 'FAILED' : skipped ? 'SKIPPED' : warnings.length ? 'WARNING' : 'PASSED',
      warnings,
      ...(skipped ? { note: skipped } : {}),
    };
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${name}.json`), JSON.stringify(verdict));
  });
  return {
    warn(condition, message) {
      if (!condition) {
        warnings.push(message);
        t.log(`WARNING: ${message}`);
      }
    },
    skippedBySuite(reason) {
      skipped = reason;
    },
    warnings,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Browser side

export function randomValue(): string {
  return jose.base64url.encode(crypto.getRandomValues(new Uint8Array(24)));
}

export interface AuthRequest {
  client?: StaticClient;
  params?: Record<string, string | undefined>;
  /** Omit state / nonce when the module does. */
  state?: string | null;
  nonce?: string | null;
}

export interface BuiltRequest {
  url: URL;
  params: URLSearchParams;
  state: string | undefined;
  nonce: string | undefined;
}

/** The suite's CreateAuthorizationEndpointRequestFromClientInformation + state + nonce. */
export function buildAuthorizationRequest(op: Op, req: AuthRequest = {}): BuiltRequest {
  const client = req.client ?? CLIENT;
  const state = req.state === null ? undefined : (req.state ?? randomValue());
  const nonce = req.nonce === null ? undefined : (req.nonce ?? randomValue());
  const params = new URLSearchParams({
    client_id: client.client_id,
    redirect_uri: REDIRECT_URI,
    scope: 'openid',
    response_type: 'code',
  });
  if (state) params.set('state', state);
  if (nonce) params.set('nonce', nonce);
  for (const [k, v] of Object.entries(req.params ?? {})) {
    if (v === undefined) params.delete(k);
    else params.set(k, v);
  }
  const url = new URL(op.discovery.authorization_endpoint);
  url.search = params.toString();
  return { url, params, state, nonce };
}

export interface AuthResult {
  callback: URL;
  response: URLSearchParams;
  jar: CookieJar;
  /** Pages Gatehouse showed (sign-in, consent) before it redirected. */
  pages: string[];
}

/** Follows the request through Gatehouse's pages (signing in and consenting when asked) to the redirect_uri. */
export async function authorize(op: Op, built: BuiltRequest, jar = new CookieJar()): Promise<AuthResult> {
  const { callback, pages } = await loginThroughPages(built.url, op.issuer, { ...DEMO, jar });
  return { callback, response: callback.searchParams, jar, pages };
}

/** A request that must not show any page (prompt=none): one GET, answered by a redirect out of Gatehouse. */
export async function authorizeSilently(op: Op, built: BuiltRequest, jar: CookieJar): Promise<AuthResult> {
  let url = built.url.toString();
  for (let hop = 0; hop < 5; hop++) {
    const res = await request(url, jar);
    if (res.status < 300 || res.status >= 400) throw new Error(`expected a redirect, got ${res.status}`);
    url = new URL(res.headers.get('location') as string, url).toString();
    if (!url.startsWith(op.issuer))
      return { callback: new URL(url), response: new URL(url).searchParams, jar, pages: [] };
  }
  throw new Error('too many redirects');
}

// ---------------------------------------------------------------------------------------------------------------
// Token endpoint

export interface HttpJson {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function readJson(res: Response): Promise<HttpJson> {
  const text = await res.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { unparsable: text.slice(0, 200) };
  }
  return { status: res.status, headers: res.headers, body };
}

/** A token request authenticated as the client authenticates (basic or post), like the suite's token calls. */
export async function tokenRequest(op: Op, client: StaticClient, form: Record<string, string>): Promise<HttpJson> {
  const body = new URLSearchParams(form);
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  };
  if (client.token_endpoint_auth_method === 'client_secret_basic') {
    // RFC 6749 2.3.1: form-urlencode id and secret before base64.
    const id = encodeURIComponent(client.client_id);
    const secret = encodeURIComponent(client.client_secret);
    headers.authorization = `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
  } else {
    body.set('client_id', client.client_id);
    body.set('client_secret', client.client_secret);
  }
  return readJson(await fetch(op.discovery.token_endpoint, { method: 'POST', headers, body }));
}

export function exchangeCode(
  op: Op,
  client: StaticClient,
  code: string,
  extra: Record<string, string> = {},
): Promise<HttpJson> {
  return tokenRequest(op, client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, ...extra });
}

export async function userinfo(
  op: Op,
  accessToken: string,
  how: 'get' | 'post-header' | 'post-body',
): Promise<HttpJson> {
  const url = op.discovery.userinfo_endpoint;
  if (how === 'get') return readJson(await fetch(url, { headers: { authorization: `Bearer ${accessToken}` } }));
  if (how === 'post-header')
    return readJson(await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${accessToken}` } }));
  return readJson(
    await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ access_token: accessToken }),
    }),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// The suite's conditions

/** AbstractEnsureMinimumEntropy: Shannon entropy per character times length. */
export function shannonEntropyBits(s: string): number {
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let perChar = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    perChar -= p * Math.log2(p);
  }
  return perChar * s.length;
}

/** EnsureMinimumAuthorizationCodeLength (128 bits) + EnsureMinimumAuthorizationCodeEntropy (> 96 bits). */
export function checkCode(t: ExecutionContext, code: string | null): string {
  t.truthy(code, 'authorization response has a code');
  const c = code as string;
  t.true(Buffer.from(c, 'base64url').length * 8 >= 128, 'code is at least 128 bits long');
  t.true(shannonEntropyBits(c) > 96, 'code has more than 96 bits of Shannon entropy');
  return c;
}

/** CheckMatchingCallbackParameters + ValidateIssIfPresentInAuthorizationResponse + CheckStateInAuthorizationResponse. */
export function checkAuthorizationResponse(t: ExecutionContext, op: Op, built: BuiltRequest, res: AuthResult): void {
  t.is(`${res.callback.origin}${res.callback.pathname}`, REDIRECT_URI, 'redirected to the registered redirect_uri');
  const iss = res.response.get('iss');
  t.is(iss, op.issuer, 'iss in the authorization response is the issuer (RFC 9207)');
  t.is(res.response.get('error'), null, `authorization succeeded (${res.response.get('error_description') ?? ''})`);
  t.is(res.response.get('state') ?? undefined, built.state, 'state returned unchanged');
}

const ERROR_CHARS = /^[\x20-\x21\x23-\x5B\x5D-\x7E]+$/;

/**
 * Checks an optional member with one assertion that always runs: absent (undefined) passes, present (null
 * included) must satisfy `check`. Never an `if` around an assertion, so no check is skipped without a trace.
 */
function optional<T>(t: ExecutionContext, value: T | undefined, check: (v: T) => boolean, message: string): void {
  t.true(value === undefined || check(value), `${message}: ${String(value)}`);
}
const EXPECTED_ERROR_PARAMS = new Set(['error', 'error_description', 'error_uri', 'state', 'session_state', 'iss']);

/** performGenericAuthorizationEndpointErrorResponseValidation, with its warnings. */
export function checkAuthorizationError(
  t: ExecutionContext,
  run: ModuleRun,
  op: Op,
  built: BuiltRequest,
  res: AuthResult,
  expected: string[],
): void {
  t.is(
    `${res.callback.origin}${res.callback.pathname}`,
    REDIRECT_URI,
    'error redirected to the registered redirect_uri',
  );
  t.is(res.response.get('state') ?? undefined, built.state, 'state returned with the error');
  const iss = res.response.get('iss');
  t.is(iss, op.issuer, 'iss in the error response is the issuer (RFC 9207)');
  const error = res.response.get('error') ?? '';
  t.true(expected.includes(error), `error is one of ${expected.join(', ')}: got ${error}`);
  t.regex(error, ERROR_CHARS, 'error uses the RFC 6749 character set');
  t.is(res.response.get('code'), null, 'no code with an error');
  const description = res.response.get('error_description');
  optional(
    t,
    description ?? undefined,
    (d) => ERROR_CHARS.test(d),
    'error_description uses the RFC 6749 character set',
  );
  run.warn(!/[\r\n\t]/.test(description ?? ''), 'error_description contains CR, LF or TAB');
  const unexpected = [...res.response.keys()].filter((k) => !EXPECTED_ERROR_PARAMS.has(k));
  run.warn(unexpected.length === 0, `error response has unexpected parameters: ${unexpected.join(', ')}`);
}

/** CheckTokenEndpointHttpStatus200 + ReturnedJsonContentType + CacheHeaders + token type/expiry checks. */
export function checkTokenResponse(
  t: ExecutionContext,
  run: ModuleRun,
  res: HttpJson,
): { accessToken: string; idToken: string; refreshToken?: string } {
  t.is(res.status, 200, `token endpoint answered 200: ${JSON.stringify(res.body.error ?? '')}`);
  t.regex(res.headers.get('content-type') ?? '', /^application\/json/);
  t.regex(res.headers.get('cache-control') ?? '', /no-store/, 'token response is not cacheable');
  t.is(String(res.body.token_type).toLowerCase(), 'bearer');
  t.is(typeof res.body.access_token, 'string');
  t.regex(res.body.access_token as string, /^[\x20-\x7E]+$/, 'access_token uses the RFC 6749 A.12 character set');
  run.warn(typeof res.body.expires_in === 'number', 'token response has no expires_in');
  t.true(
    Number.isInteger(res.body.expires_in) && (res.body.expires_in as number) > 0,
    'expires_in is a positive integer',
  );
  t.is(typeof res.body.id_token, 'string', 'token response has an id_token');
  optional(
    t,
    res.body.refresh_token,
    (rt) => typeof rt === 'string' && /^[\x20-\x7E]+$/.test(rt),
    'refresh_token uses the RFC 6749 A.17 character set',
  );
  return {
    accessToken: res.body.access_token as string,
    idToken: res.body.id_token as string,
    ...(typeof res.body.refresh_token === 'string' ? { refreshToken: res.body.refresh_token } : {}),
  };
}

/** CheckTokenEndpointHttpStatus400 + JSON + invalid_grant + ValidateErrorFromTokenEndpointResponseError etc. */
export function checkTokenError(t: ExecutionContext, run: ModuleRun, res: HttpJson, error = 'invalid_grant'): void {
  t.is(res.status, 400, 'token endpoint answered 400');
  t.regex(res.headers.get('content-type') ?? '', /^application\/json/);
  t.is(res.body.error, error);
  t.regex(String(res.body.error), ERROR_CHARS);
  const description = res.body.error_description;
  optional(t, description, (d) => ERROR_CHARS.test(String(d)), 'error_description uses the RFC 6749 character set');
  run.warn(!/[\r\n\t]/.test(String(description ?? '')), 'error_description contains CR, LF or TAB');
  t.is(res.body.access_token, undefined);
}

const SKEW_S = 5 * 60;

export interface IdTokenExpectations {
  client?: StaticClient;
  /** undefined: no nonce was sent, and none may come back. */
  nonce: string | undefined;
  accessToken?: string;
}

/**
 * PerformStandardIdTokenChecks: ValidateIdToken (iss, aud, exp, iat, auth_time, acr), ValidateIdTokenNonce,
 * ValidateIdTokenSignature (by kid against jwks_uri), CheckForSubjectInIdToken, ExtractAtHash + ValidateAtHash.
 */
export async function checkIdToken(
  t: ExecutionContext,
  op: Op,
  idToken: string,
  want: IdTokenExpectations,
): Promise<jose.JWTPayload> {
  const clientId = (want.client ?? CLIENT).client_id;
  const header = jose.decodeProtectedHeader(idToken);
  t.is(header.alg, 'RS256', 'ID token signed with the default RS256');
  t.truthy(header.kid, 'ID token header has a kid');
  const jwk = op.jwks.keys.find((k) => k.kid === header.kid);
  t.truthy(jwk, 'the kid is in the jwks_uri key set');
  const { payload } = await jose.compactVerify(idToken, await jose.importJWK(jwk as jose.JWK, header.alg));
  const claims = JSON.parse(new TextDecoder().decode(payload)) as jose.JWTPayload & Record<string, unknown>;
  const now = Math.floor(Date.now() / 1000);

  t.is(claims.iss, op.issuer, 'iss is the issuer');
  t.true(Array.isArray(claims.aud) ? claims.aud.includes(clientId) : claims.aud === clientId, 'aud is the client');
  const severalAudiences = Array.isArray(claims.aud) && claims.aud.length > 1;
  t.true(!severalAudiences || claims.azp === clientId, 'azp is the client when there are several audiences');
  t.is(typeof claims.exp, 'number');
  t.true((claims.exp as number) + SKEW_S > now, 'not expired');
  t.true((claims.exp as number) < now + 50 * 365 * 86400, 'exp is in seconds');
  t.is(typeof claims.iat, 'number');
  t.true((claims.iat as number) - SKEW_S <= now, 'iat not in the future');
  t.true((claims.iat as number) + SKEW_S >= now, 'iat not more than 5 minutes in the past');
  optional(
    t,
    claims.auth_time,
    (at) => typeof at === 'number' && at > now - 365 * 86400 && at - SKEW_S <= now,
    'auth_time is a number of seconds within a year and not in the future',
  );
  optional(t, claims.acr, (acr) => acr !== '', 'acr is not an empty string');
  t.is(claims.nonce, want.nonce, want.nonce === undefined ? 'no nonce sent, none returned' : 'nonce matches');

  const sub = claims.sub;
  t.is(typeof sub, 'string');
  t.true((sub as string).length > 0 && (sub as string).length <= 255, 'sub has 1-255 characters');
  t.regex(sub as string, /^[\x20-\x7E]+$/, 'sub is printable ASCII');

  // at_hash is optional in the code flow; when present it must match the access token it came with.
  const digest = createHash('sha256')
    .update(want.accessToken ?? '')
    .digest();
  optional(
    t,
    want.accessToken === undefined ? undefined : claims.at_hash,
    (atHash) => atHash === jose.base64url.encode(digest.subarray(0, digest.length / 2)),
    'at_hash matches the access token',
  );
  return claims;
}

/** The identity claims of an ID token (ValidateIdTokenStandardClaims' split): what a scope or claims request added. */
export function identityClaims(claims: jose.JWTPayload): string[] {
  return Object.keys(claims).filter((k) => !PROTOCOL_CLAIMS.has(k));
}

/** The suite's scope → standard claims table (AbstractVerifyScopesReturnedInClaims). */
export const SCOPE_STANDARD_CLAIMS: Record<string, string[]> = {
  openid: ['sub'],
  profile: [
    'name',
    'given_name',
    'family_name',
    'middle_name',
    'nickname',
    'profile',
    'picture',
    'website',
    'gender',
    'birthdate',
    'zoneinfo',
    'locale',
    'updated_at',
    'preferred_username',
  ],
  email: ['email', 'email_verified'],
  address: ['address'],
  phone: ['phone_number', 'phone_number_verified'],
  offline_access: [],
};

/** AbstractOIDCCUserInfoTest: 200, JSON, standard claim types valid, sub present and equal to the ID token's. */
export function checkUserinfo(t: ExecutionContext, res: HttpJson, idTokenSub: unknown): Record<string, unknown> {
  t.is(res.status, 200, `userinfo answered 200: ${JSON.stringify(res.body)}`);
  t.regex(res.headers.get('content-type') ?? '', /^application\/json/);
  const info = res.body;
  t.is(info.sub, idTokenSub, 'userinfo sub equals the ID token sub');
  // Every standard claim is optional; each one present must have its type.
  for (const k of ['name', 'given_name', 'family_name', 'preferred_username', 'email', 'phone_number']) {
    optional(
      t,
      info[k],
      (v) => typeof v === 'string' && v.trim() !== '' && v.toLowerCase() !== 'null',
      `${k} is a string with content`,
    );
  }
  for (const k of ['email_verified', 'phone_number_verified'])
    optional(t, info[k], (v) => typeof v === 'boolean', `${k} is a boolean`);
  optional(t, info.updated_at, (v) => Number.isInteger(v) && (v as number) > 0, 'updated_at is a number of seconds');
  optional(t, info.address, (v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'address is an object');
  return info;
}

/** VerifyScopesReturnedInUserInfoClaims (a WARNING in the suite). */
export function warnMissingScopeClaims(run: ModuleRun, scope: string, info: Record<string, unknown>): void {
  const missing = scope
    .split(' ')
    .flatMap((s) => SCOPE_STANDARD_CLAIMS[s] ?? [])
    .filter((c) => !(c in info));
  run.warn(
    missing.length === 0,
    `userinfo lacks standard claims of the requested scopes: ${missing.join(', ')} (VerifyScopesReturnedInUserInfoClaims)`,
  );
}

/** A full happy flow: pages, code checks, token exchange, ID token checks, protected resource call. */
export async function happyFlow(t: ExecutionContext, run: ModuleRun, op: Op, req: AuthRequest = {}, jar?: CookieJar) {
  const client = req.client ?? CLIENT;
  const built = buildAuthorizationRequest(op, req);
  const auth = await authorize(op, built, jar);
  checkAuthorizationResponse(t, op, built, auth);
  const code = checkCode(t, auth.response.get('code'));
  const tokenRes = await exchangeCode(op, client, code);
  const tokens = checkTokenResponse(t, run, tokenRes);
  const claims = await checkIdToken(t, op, tokens.idToken, {
    client,
    nonce: built.nonce,
    accessToken: tokens.accessToken,
  });
  // requestProtectedResource: the suite's protected resource for these plans is the userinfo endpoint.
  t.is((await userinfo(op, tokens.accessToken, 'get')).status, 200, 'the access token is accepted by userinfo');
  return { built, auth, code, tokens, claims, jar: auth.jar };
}

/** The suite's ExpectRedirectUriErrorPage & co: Gatehouse shows its own error page and does not redirect. */
export async function expectErrorPage(
  t: ExecutionContext,
  url: URL | string,
  jar = new CookieJar(),
): Promise<{ status: number; html: string }> {
  const res = await request(String(url), jar);
  t.true(res.status >= 400 && res.status < 500, `an error page (4xx), not a redirect: got ${res.status}`);
  t.is(res.headers.get('location'), null, 'no redirect');
  t.regex(res.headers.get('content-type') ?? '', /text\/html/);
  return { status: res.status, html: await res.text() };
}

export { CookieJar, request };
