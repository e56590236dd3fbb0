/**
 * oidcc-basic-certification-test-plan, the request object and claims-parameter modules.
 *
 * Gatehouse supports request objects by value when signed (HS256 with the client secret, or an asymmetric alg
 * with the client's keys) and refuses unsigned ones (`alg: none`, not advertised) and request objects by
 * reference (`request_uri_parameter_supported: false`, `request_uri_not_supported`). The suite's three request
 * object modules send unsigned objects and therefore end as SKIPPED against Gatehouse (the suite's own
 * skipTestIfNoneUnsupported); each test checks that skip condition, then what Gatehouse does instead: the
 * unsigned object and the reference are refused with the right error, and a signed object is processed.
 */
import test, { type ExecutionContext } from 'ava';
import * as jose from 'jose';
import {
  authorize,
  CLIENT,
  CookieJar,
  checkAuthorizationResponse,
  checkCode,
  checkIdToken,
  checkTokenResponse,
  checkUserinfo,
  conformanceModule,
  exchangeCode,
  happyFlow,
  type ModuleRun,
  REDIRECT_URI,
  randomValue,
  request,
  fileOp,
  userinfo,
} from './harness.ts';

const PLAN = 'oidcc-basic-certification-test-plan';
const op = fileOp(test);

function requestObjectClaims(state: string, nonce: string, extra: Record<string, unknown> = {}) {
  return {
    client_id: CLIENT.client_id,
    redirect_uri: REDIRECT_URI,
    scope: 'openid',
    response_type: 'code',
    state,
    nonce,
    ...extra,
  };
}

function unsigned(claims: Record<string, unknown>): string {
  return new jose.UnsecuredJWT(claims).encode();
}

function signedWithSecret(claims: Record<string, unknown>): Promise<string> {
  return new jose.SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'oauth-authz-req+jwt' })
    .setIssuer(CLIENT.client_id)
    .setAudience(op.issuer)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(CLIENT.client_secret));
}

/** The suite's outer parameters: the request object plus what OIDC Core 6.1 wants outside it too. */
function authUrl(params: Record<string, string>): URL {
  const url = new URL(op.discovery.authorization_endpoint);
  url.search = new URLSearchParams({
    client_id: CLIENT.client_id,
    response_type: 'code',
    scope: 'openid',
    redirect_uri: REDIRECT_URI,
    ...params,
  }).toString();
  return url;
}

/** skipTestIfNoneUnsupported in AbstractOIDCCServerTest. */
function noneUnsupported(t: ExecutionContext, run: ModuleRun): void {
  const algs = op.discovery.request_object_signing_alg_values_supported as string[];
  t.true(Array.isArray(algs));
  t.false(algs.includes('none'), 'none is not advertised');
  run.warn(algs.includes('RS256'), 'request_object_signing_alg_values_supported lacks RS256');
  run.skippedBySuite(
    "'none' is not in request_object_signing_alg_values_supported: the suite skips; unsigned objects are refused, signed ones work",
  );
}

/** A signed request object by value completes a normal code flow with the values from inside it. */
async function signedByValueWorks(t: ExecutionContext, run: ModuleRun, outer: Record<string, string> = {}) {
  const state = randomValue();
  const nonce = randomValue();
  const url = authUrl({ request: await signedWithSecret(requestObjectClaims(state, nonce)), ...outer });
  const built = { url, params: url.searchParams, state, nonce };
  const auth = await authorize(op, built);
  checkAuthorizationResponse(t, op, built, auth);
  const tokens = checkTokenResponse(t, run, await exchangeCode(op, CLIENT, checkCode(t, auth.response.get('code'))));
  await checkIdToken(t, op, tokens.idToken, { nonce, accessToken: tokens.accessToken });
}

test('oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported', async (t) => {
  const run = conformanceModule(t, PLAN);
  noneUnsupported(t, run);
  run.warn(op.discovery.request_parameter_supported === true, 'request_parameter_supported is not true');
  // The unsigned object is refused, never silently ignored or processed.
  const url = authUrl({ request: unsigned(requestObjectClaims(randomValue(), randomValue())) });
  const res = await request(url.toString(), new CookieJar());
  const location = res.headers.get('location');
  t.truthy(location?.startsWith(REDIRECT_URI), 'the error goes back to the registered redirect_uri');
  const error = new URL(location as string).searchParams;
  t.is(error.get('error'), 'invalid_request_object');
  t.is(error.get('code'), null);
  await signedByValueWorks(t, run);
});

test('oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported', async (t) => {
  const run = conformanceModule(t, PLAN);
  noneUnsupported(t, run);
  t.is(op.discovery.request_uri_parameter_supported, false, 'request_uri not advertised');
  const state = randomValue();
  const url = authUrl({ request_uri: 'https://rp.example.test/request.jwt#abc', state });
  const res = await request(url.toString(), new CookieJar());
  const location = res.headers.get('location');
  t.truthy(location, 'the error goes back to the client');
  const error = new URL(location as string);
  t.is(`${error.origin}${error.pathname}`, REDIRECT_URI);
  t.is(error.searchParams.get('error'), 'request_uri_not_supported');
  t.is(error.searchParams.get('state'), state);
  t.is(error.searchParams.get('code'), null);
});

test('oidcc-ensure-request-object-with-redirect-uri', async (t) => {
  const run = conformanceModule(t, PLAN);
  noneUnsupported(t, run);
  // The registered redirect_uri inside the signed object, an unregistered one outside: either the one inside is
  // used (the outside one ignored, OIDC Core 6.1) or an error page; never a redirect to the unregistered URI.
  const bad = `${REDIRECT_URI}/${randomValue()}`;
  const state = randomValue();
  const nonce = randomValue();
  const url = authUrl({ request: await signedWithSecret(requestObjectClaims(state, nonce)), redirect_uri: bad });
  const auth = await authorize(op, { url, params: url.searchParams, state, nonce });
  t.false(auth.callback.toString().startsWith(bad), 'not redirected to the unregistered redirect_uri');
  checkAuthorizationResponse(t, op, { url, params: url.searchParams, state, nonce }, auth);
  checkCode(t, auth.response.get('code'));
  // And the unsigned variant the suite sends is refused.
  const unsignedUrl = authUrl({ request: unsigned(requestObjectClaims(state, nonce)), redirect_uri: bad });
  const res = await request(unsignedUrl.toString(), new CookieJar());
  t.is(res.headers.get('location'), null, 'no redirect anywhere: the outer redirect_uri is not registered');
  t.is(res.status, 400, 'an error page');
});

test('oidcc-claims-essential', async (t) => {
  const run = conformanceModule(t, PLAN);
  t.is(op.discovery.claims_parameter_supported, true);
  const claimsParam = JSON.stringify({ userinfo: { name: { essential: true } } });
  const { tokens, claims } = await happyFlow(t, run, op, { params: { claims: claimsParam } });
  const info = checkUserinfo(t, await userinfo(op, tokens.accessToken, 'get'), claims.sub);
  run.warn(typeof info.name === 'string', 'userinfo lacks the essential name claim (EnsureUserInfoContainsName)');
  run.warn(
    claims.name === undefined,
    'ID token contains name, requested for userinfo only (EnsureIdTokenDoesNotContainName)',
  );
  t.is(info.name, 'Demo User');
});
