/**
 * oidcc-basic-certification-test-plan, the modules that make two requests on one browser session (prompt,
 * max_age, id_token_hint), the refresh token module and the immediate code reuse module.
 * One ava test per suite module, named after it. See docs/conformance.md for the table.
 */
import test from 'ava';
import { startRedis } from '../helpers/redis.ts';
import {
  authorize,
  authorizeSilently,
  buildAuthorizationRequest,
  CLIENT,
  CLIENT2,
  CookieJar,
  checkAuthorizationError,
  checkAuthorizationResponse,
  checkCode,
  checkIdToken,
  checkTokenError,
  checkTokenResponse,
  checkUserinfo,
  conformanceModule,
  exchangeCode,
  happyFlow,
  fileOp,
  startOp,
  tokenRequest,
  userinfo,
} from './harness.ts';

const PLAN = 'oidcc-basic-certification-test-plan';
const USER_INTERFACE_ERRORS = [
  'login_required',
  'interaction_required',
  'consent_required',
  'account_selection_required',
];
const op = fileOp(test);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const hasLoginPage = (pages: string[]) => pages.some((p) => /action="[^"]*\/login"/.test(p));

test('oidcc-prompt-login', async (t) => {
  const run = conformanceModule(t, PLAN);
  const first = await happyFlow(t, run, op);
  await sleep(1000); // WaitForOneSecond: so a new auth_time can differ
  const built = buildAuthorizationRequest(op, { params: { prompt: 'login' } });
  const second = await authorize(op, built, first.jar);
  t.true(hasLoginPage(second.pages), 'prompt=login asks the user to sign in again (ExpectSecondLoginPage)');
  checkAuthorizationResponse(t, op, built, second);
  const tokens = checkTokenResponse(t, run, await exchangeCode(op, CLIENT, checkCode(t, second.response.get('code'))));
  const claims = await checkIdToken(t, op, tokens.idToken, { nonce: built.nonce, accessToken: tokens.accessToken });
  // CheckSecondIdTokenAuthTimeIsLaterIfPresent: the conformance clients register require_auth_time, so both ID
  // tokens carry it.
  t.is(typeof first.claims.auth_time, 'number');
  t.is(typeof claims.auth_time, 'number');
  t.true((claims.auth_time as number) > (first.claims.auth_time as number), 'the second auth_time is later');
  t.is(claims.sub, first.claims.sub);
});

test('oidcc-prompt-none-not-logged-in', async (t) => {
  const run = conformanceModule(t, PLAN);
  const built = buildAuthorizationRequest(op, { params: { prompt: 'none' } });
  const res = await authorizeSilently(op, built, new CookieJar());
  checkAuthorizationError(t, run, op, built, res, USER_INTERFACE_ERRORS);
  t.is(res.response.get('error'), 'login_required');
});

test('oidcc-prompt-none-logged-in', async (t) => {
  const run = conformanceModule(t, PLAN);
  const first = await happyFlow(t, run, op);
  const built = buildAuthorizationRequest(op, { params: { prompt: 'none' } });
  const second = await authorizeSilently(op, built, first.jar);
  checkAuthorizationResponse(t, op, built, second);
  const tokens = checkTokenResponse(t, run, await exchangeCode(op, CLIENT, checkCode(t, second.response.get('code'))));
  const claims = await checkIdToken(t, op, tokens.idToken, { nonce: built.nonce, accessToken: tokens.accessToken });
  t.is(claims.sub, first.claims.sub, 'same sub');
  t.is(typeof first.claims.auth_time, 'number', 'the first ID token carries auth_time');
  t.is(claims.auth_time, first.claims.auth_time, 'same auth_time: no new sign-in');
});

test('oidcc-max-age-1', async (t) => {
  const run = conformanceModule(t, PLAN);
  const first = await happyFlow(t, run, op);
  await sleep(2000); // WaitFor2Seconds, then max_age=1
  const built = buildAuthorizationRequest(op, { params: { max_age: '1' } });
  const second = await authorize(op, built, first.jar);
  t.true(hasLoginPage(second.pages), 'max_age=1 after 2 s asks the user to sign in again');
  checkAuthorizationResponse(t, op, built, second);
  const tokens = checkTokenResponse(t, run, await exchangeCode(op, CLIENT, checkCode(t, second.response.get('code'))));
  const claims = await checkIdToken(t, op, tokens.idToken, { nonce: built.nonce, accessToken: tokens.accessToken });
  t.is(
    typeof claims.auth_time,
    'number',
    'auth_time present because max_age was requested (CheckIdTokenAuthTimeClaimPresentDueToMaxAge)',
  );
  t.is(typeof first.claims.auth_time, 'number', 'the first ID token carries auth_time');
  t.true((claims.auth_time as number) > (first.claims.auth_time as number), 'later auth_time');
  t.true(
    Math.abs(Date.now() / 1000 - (claims.auth_time as number)) < 5 * 60,
    'auth_time is recent (CheckIdTokenAuthTimeIsRecentIfPresent)',
  );
});

test('oidcc-max-age-10000', async (t) => {
  const run = conformanceModule(t, PLAN);
  const first = await happyFlow(t, run, op, { params: { max_age: '15000' } });
  t.is(typeof first.claims.auth_time, 'number', 'auth_time present (max_age=15000)');
  const built = buildAuthorizationRequest(op, { params: { max_age: '10000' } });
  const second = await authorize(op, built, first.jar);
  t.false(hasLoginPage(second.pages), 'max_age=10000 does not ask to sign in again');
  checkAuthorizationResponse(t, op, built, second);
  const tokens = checkTokenResponse(t, run, await exchangeCode(op, CLIENT, checkCode(t, second.response.get('code'))));
  const claims = await checkIdToken(t, op, tokens.idToken, { nonce: built.nonce, accessToken: tokens.accessToken });
  t.is(typeof claims.auth_time, 'number', 'auth_time present (max_age=10000)');
  t.is(claims.auth_time, first.claims.auth_time, 'same sign-in');
  t.is(claims.sub, first.claims.sub);
});

test('oidcc-id-token-hint', async (t) => {
  const run = conformanceModule(t, PLAN);
  const first = await happyFlow(t, run, op);
  const built = buildAuthorizationRequest(op, { params: { prompt: 'none', id_token_hint: first.tokens.idToken } });
  const second = await authorizeSilently(op, built, first.jar);
  checkAuthorizationResponse(t, op, built, second);
  const tokens = checkTokenResponse(t, run, await exchangeCode(op, CLIENT, checkCode(t, second.response.get('code'))));
  const claims = await checkIdToken(t, op, tokens.idToken, { nonce: built.nonce, accessToken: tokens.accessToken });
  t.is(claims.sub, first.claims.sub);
});

test('oidcc-codereuse', async (t) => {
  const run = conformanceModule(t, PLAN);
  const { code, tokens } = await happyFlow(t, run, op);
  const again = await exchangeCode(op, CLIENT, code);
  run.warn(
    again.status !== 200,
    'the server allowed the code to be used twice (ServerAllowedReusingAuthorizationCode)',
  );
  checkTokenError(t, run, again, 'invalid_grant');
  // RFC 6749 4.1.2: the tokens issued for the code SHOULD be revoked; Gatehouse does.
  const info = await userinfo(op, tokens.accessToken, 'get');
  t.is(info.status, 401, 'the access token of the first use is revoked');
});

test('oidcc-refresh-token', async (t) => {
  const run = conformanceModule(t, PLAN);
  // offline_access: oidc-provider issues it only with prompt=consent (OIDC Core 11).
  const req = { params: { scope: 'openid offline_access', prompt: 'consent' } };
  const first = await happyFlow(t, run, op, req);
  t.truthy(first.tokens.refreshToken, 'a refresh token was issued');
  run.warn(
    (op.discovery.grant_types_supported as string[]).includes('refresh_token'),
    'grant_types_supported lacks refresh_token',
  );
  await sleep(1000); // WaitForOneSecond: the new ID token's iat must differ
  const refreshed = await tokenRequest(op, CLIENT, {
    grant_type: 'refresh_token',
    refresh_token: first.tokens.refreshToken as string,
    scope: 'openid offline_access',
  });
  const tokens = checkTokenResponse(t, run, refreshed);
  t.not(tokens.accessToken, first.tokens.accessToken);
  const second = await checkIdToken(t, op, tokens.idToken, {
    nonce: first.claims.nonce as string | undefined,
    accessToken: tokens.accessToken,
  });
  // CompareIdTokenClaims (OIDC Core 12.2)
  for (const claim of ['iss', 'sub'] as const) t.is(second[claim], first.claims[claim], `${claim} unchanged`);
  t.deepEqual(second.aud, first.claims.aud, 'aud unchanged');
  t.is(typeof first.claims.auth_time, 'number', 'the first ID token carries auth_time');
  t.is(second.auth_time, first.claims.auth_time, 'auth_time unchanged');
  t.is(second.azp, first.claims.azp);
  t.true((second.iat as number) > (first.claims.iat as number), 'iat is the new issue time');
  checkUserinfo(t, await userinfo(op, tokens.accessToken, 'get'), second.sub);

  // Client 2 obtains its own refresh token; client 1 may not use it.
  const other = await happyFlow(t, run, op, { ...req, client: CLIENT2 });
  t.truthy(other.tokens.refreshToken);
  const stolen = await tokenRequest(op, CLIENT, {
    grant_type: 'refresh_token',
    refresh_token: other.tokens.refreshToken as string,
  });
  checkTokenError(t, run, stolen, 'invalid_grant');
  // And it still works for its owner.
  const own = await tokenRequest(op, CLIENT2, {
    grant_type: 'refresh_token',
    refresh_token: other.tokens.refreshToken as string,
  });
  t.is(own.status, 200);
});

test('oidcc-codereuse and oidcc-refresh-token client binding, on the Redis store', async (t) => {
  const redis = await startRedis(t);
  const onRedis = await startOp({ 'redis.url': redis.url });
  t.teardown(() => onRedis.stop());
  t.is(onRedis.gh.gatehouse.store.kind, 'redis');
  const run = conformanceModule(t, PLAN);
  const { code, tokens } = await happyFlow(t, run, onRedis);
  checkTokenError(t, run, await exchangeCode(onRedis, CLIENT, code), 'invalid_grant');
  t.is(
    (await userinfo(onRedis, tokens.accessToken, 'get')).status,
    401,
    'the access token of the first use is revoked',
  );
  const other = await happyFlow(t, run, onRedis, {
    params: { scope: 'openid offline_access', prompt: 'consent' },
    client: CLIENT2,
  });
  const stolen = await tokenRequest(onRedis, CLIENT, {
    grant_type: 'refresh_token',
    refresh_token: other.tokens.refreshToken as string,
  });
  checkTokenError(t, run, stolen, 'invalid_grant');
  t.deepEqual(run.warnings, []);
});
