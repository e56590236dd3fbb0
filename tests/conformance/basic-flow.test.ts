/**
 * oidcc-basic-certification-test-plan, the single-flow modules (code flow, client_secret_basic, static clients):
 * one ava test per suite module, named after it. See docs/conformance.md for the table.
 */
import test from 'ava';
import * as oidc from 'openid-client';
import {
  authorize,
  buildAuthorizationRequest,
  CLIENT,
  CLIENT_POST,
  checkAuthorizationError,
  checkAuthorizationResponse,
  checkCode,
  checkIdToken,
  checkTokenResponse,
  checkUserinfo,
  conformanceModule,
  expectErrorPage,
  exchangeCode,
  happyFlow,
  identityClaims,
  REDIRECT_URI,
  randomValue,
  request,
  fileOp,
  userinfo,
  warnMissingScopeClaims,
  CookieJar,
} from './harness.ts';

const PLAN = 'oidcc-basic-certification-test-plan';
const op = fileOp(test);

test('oidcc-server', async (t) => {
  const run = conformanceModule(t, PLAN);
  // The relying party here is openid-client (client_secret_basic, state and nonce checked by it too).
  const config = await oidc.discovery(
    new URL(op.issuer),
    CLIENT.client_id,
    {},
    oidc.ClientSecretBasic(CLIENT.client_secret),
    {
      execute: [oidc.allowInsecureRequests],
    },
  );
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT_URI, scope: 'openid', state, nonce });
  const auth = await authorize(op, { url, params: url.searchParams, state, nonce });
  checkAuthorizationResponse(t, op, { url, params: url.searchParams, state, nonce }, auth);
  checkCode(t, auth.response.get('code'));
  const tokens = await oidc.authorizationCodeGrant(config, auth.callback, {
    expectedState: state,
    expectedNonce: nonce,
  });
  const claims = await checkIdToken(t, op, tokens.id_token as string, { nonce, accessToken: tokens.access_token });
  // OIDCCServerTest: EnsureIdTokenDoesNotContainName / ...NonRequestedClaims are WARNINGs (scope=openid only).
  run.warn(claims.name === undefined, 'ID token contains name although only openid was requested');
  const extra = identityClaims(claims);
  run.warn(extra.length === 0, `ID token contains claims that were not requested: ${extra.join(', ')}`);
  // The suite's protected resource for this plan is the userinfo endpoint.
  checkUserinfo(t, await userinfo(op, tokens.access_token, 'get'), claims.sub);
});

test('oidcc-idtoken-signature', async (t) => {
  const run = conformanceModule(t, PLAN);
  // No id_token_signed_response_alg registered: the ID token must default to RS256, verifiable by its kid.
  const { claims } = await happyFlow(t, run, op);
  t.truthy(claims.sub);
});

test('oidcc-idtoken-unsigned', async (t) => {
  const run = conformanceModule(t, PLAN);
  // The suite registers a client with id_token_signed_response_alg=none and skips when `none` is not advertised.
  const algs = op.discovery.id_token_signing_alg_values_supported as string[];
  t.false(algs.includes('none'), 'unsigned ID tokens are not offered');
  run.skippedBySuite('none is not in id_token_signing_alg_values_supported: Gatehouse never issues unsigned ID tokens');
  const res = await fetch(`${op.issuer}/.well-known/openid-configuration`);
  t.is(res.status, 200);
});

test('oidcc-response-type-missing', async (t) => {
  const run = conformanceModule(t, PLAN);
  const built = buildAuthorizationRequest(op, { params: { response_type: undefined } });
  const res = await request(built.url.toString(), new CookieJar());
  // The suite accepts a redirect with invalid_request / unsupported_response_type, or an error page;
  // Gatehouse redirects (the client and redirect_uri are valid, so the client can be told).
  t.is(res.status, 303);
  const callback = new URL(res.headers.get('location') as string);
  checkAuthorizationError(
    t,
    run,
    op,
    built,
    { callback, response: callback.searchParams, jar: new CookieJar(), pages: [] },
    ['invalid_request', 'unsupported_response_type'],
  );
});

for (const how of ['get', 'post-header', 'post-body'] as const) {
  test(`oidcc-userinfo-${how}`, async (t) => {
    const run = conformanceModule(t, PLAN);
    const { tokens, claims } = await happyFlow(t, run, op, { params: { scope: 'openid profile email' } });
    const info = checkUserinfo(t, await userinfo(op, tokens.accessToken, how), claims.sub);
    t.is(info.preferred_username, 'demo');
  });
}

test('oidcc-ensure-request-without-nonce-succeeds-for-code-flow', async (t) => {
  const run = conformanceModule(t, PLAN);
  const { claims } = await happyFlow(t, run, op, { nonce: null });
  t.is(claims.nonce, undefined);
});

const SCOPE_MODULES: Record<string, string> = {
  'oidcc-scope-profile': 'openid profile',
  'oidcc-scope-email': 'openid email',
  'oidcc-scope-address': 'openid address',
  'oidcc-scope-phone': 'openid phone',
  'oidcc-scope-all': 'openid email phone address profile',
};
for (const [module, scope] of Object.entries(SCOPE_MODULES)) {
  test(module, async (t) => {
    const run = conformanceModule(t, PLAN);
    // OIDCCCheckScopesSupportedContainScopeTest: the scopes are advertised.
    for (const s of scope.split(' '))
      t.true((op.discovery.scopes_supported as string[]).includes(s), `${s} advertised`);
    const { tokens, claims, pages } = await happyFlow(t, run, op, { params: { scope } }).then((r) => ({
      ...r,
      pages: r.auth.pages,
    }));
    t.true(
      pages.some((p) => p.includes('/confirm')),
      'the user was asked to consent to the scopes',
    );
    const info = checkUserinfo(t, await userinfo(op, tokens.accessToken, 'get'), claims.sub);
    warnMissingScopeClaims(run, scope, info);
    // What Gatehouse does store must be there, whatever the suite's full list.
    const stored: Record<string, string[]> = {
      profile: ['name', 'given_name', 'family_name', 'preferred_username', 'updated_at'],
      email: ['email', 'email_verified'],
      address: ['address'],
      phone: ['phone_number', 'phone_number_verified'],
    };
    for (const s of scope.split(' '))
      for (const c of stored[s] ?? []) t.true(c in info, `${c} returned for scope ${s}`);
  });
}

test('oidcc-alternate-happy-flow', async (t) => {
  const run = conformanceModule(t, PLAN);
  // Scope entries reversed and query parameters in another order (BuildPlainRedirectToAuthorizationEndpointReorderedParams).
  const built = buildAuthorizationRequest(op, { params: { scope: 'openid' } });
  const reordered = new URLSearchParams([...built.params.entries()].reverse());
  reordered.set('scope', 'openid'.split(' ').reverse().join(' '));
  const url = new URL(op.discovery.authorization_endpoint);
  url.search = reordered.toString();
  const auth = await authorize(op, { ...built, url });
  checkAuthorizationResponse(t, op, built, auth);
  const tokens = checkTokenResponse(t, run, await exchangeCode(op, CLIENT, checkCode(t, auth.response.get('code'))));
  await checkIdToken(t, op, tokens.idToken, { nonce: built.nonce, accessToken: tokens.accessToken });
});

for (const display of ['page', 'popup']) {
  test(`oidcc-display-${display}`, async (t) => {
    const run = conformanceModule(t, PLAN);
    const { auth } = await happyFlow(t, run, op, { params: { display } });
    t.true(
      auth.pages.some((p) => p.includes('/login')),
      'a sign-in page was shown',
    );
  });
}

test('oidcc-ensure-request-with-unknown-parameter-succeeds', async (t) => {
  const run = conformanceModule(t, PLAN);
  await happyFlow(t, run, op, { params: { extra: 'foobar' } });
});

test('oidcc-login-hint', async (t) => {
  const run = conformanceModule(t, PLAN);
  const hint = `buffy@${new URL(op.issuer).hostname}`;
  const { auth } = await happyFlow(t, run, op, { params: { login_hint: hint } });
  t.true(
    auth.pages.some((p) => p.includes(`value="${hint}"`)),
    'the sign-in page pre-fills the hinted username',
  );
});

test('oidcc-ui-locales', async (t) => {
  const run = conformanceModule(t, PLAN);
  await happyFlow(t, run, op, { params: { ui_locales: 'se' } });
});

test('oidcc-claims-locales', async (t) => {
  const run = conformanceModule(t, PLAN);
  const { tokens, claims } = await happyFlow(t, run, op, { params: { claims_locales: 'se', scope: 'openid profile' } });
  checkUserinfo(t, await userinfo(op, tokens.accessToken, 'get'), claims.sub);
});

test('oidcc-ensure-request-with-acr-values-succeeds', async (t) => {
  const run = conformanceModule(t, PLAN);
  const advertised = op.discovery.acr_values_supported as string[] | undefined;
  t.true(Array.isArray(advertised) && advertised.length > 0, 'acr_values_supported advertised');
  const acrValues = (advertised as string[]).join(' ');
  const { claims } = await happyFlow(t, run, op, { params: { acr_values: acrValues } });
  // The suite: the returned acr SHOULD be one of the requested values (a WARNING otherwise).
  run.warn(
    typeof claims.acr === 'string' && (advertised as string[]).includes(claims.acr as string),
    `ID token acr ${String(claims.acr)} is not one requested`,
  );
});

test('oidcc-ensure-registered-redirect-uri', async (t) => {
  conformanceModule(t, PLAN);
  // CreateBadRedirectUriByAppending: a random path appended to the registered URI.
  const bad = `${REDIRECT_URI}/${randomValue()}`;
  const built = buildAuthorizationRequest(op, { params: { redirect_uri: bad } });
  const page = await expectErrorPage(t, built.url);
  t.is(page.status, 400);
  t.regex(page.html, /redirect_uri/, 'the page says the redirect_uri is the problem');
});

test('oidcc-ensure-post-request-succeeds', async (t) => {
  const run = conformanceModule(t, PLAN);
  const built = buildAuthorizationRequest(op);
  const jar = new CookieJar();
  const res = await request(op.discovery.authorization_endpoint, jar, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: built.params.toString(),
  });
  // Gatehouse answers the POST with a 303 to the same request as a GET (src/http/authorization-post.ts).
  t.is(res.status, 303, 'the POSTed request is accepted');
  const next = new URL(res.headers.get('location') as string, op.issuer);
  const auth = await authorize(op, { ...built, url: next }, jar);
  checkAuthorizationResponse(t, op, built, auth);
  const tokens = checkTokenResponse(t, run, await exchangeCode(op, CLIENT, checkCode(t, auth.response.get('code'))));
  await checkIdToken(t, op, tokens.idToken, { nonce: built.nonce, accessToken: tokens.accessToken });
});

test('oidcc-server-client-secret-post', async (t) => {
  const run = conformanceModule(t, PLAN);
  t.true((op.discovery.token_endpoint_auth_methods_supported as string[]).includes('client_secret_post'));
  const { tokens, claims } = await happyFlow(t, run, op, { client: CLIENT_POST });
  checkUserinfo(t, await userinfo(op, tokens.accessToken, 'get'), claims.sub);
});

test('oidcc-ensure-request-with-valid-pkce-succeeds', async (t) => {
  const run = conformanceModule(t, PLAN);
  t.true((op.discovery.code_challenge_methods_supported as string[]).includes('S256'));
  const verifier = oidc.randomPKCECodeVerifier();
  const built = buildAuthorizationRequest(op, {
    params: { code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' },
  });
  const auth = await authorize(op, built);
  checkAuthorizationResponse(t, op, built, auth);
  const code = checkCode(t, auth.response.get('code'));
  const tokens = checkTokenResponse(t, run, await exchangeCode(op, CLIENT, code, { code_verifier: verifier }));
  await checkIdToken(t, op, tokens.idToken, { nonce: built.nonce, accessToken: tokens.accessToken });
});

test('authorization endpoint POST: a body that is not a form, or parameters in both query and body, get a 4xx', async (t) => {
  const built = buildAuthorizationRequest(op);
  const jar = new CookieJar();
  const both = await request(`${op.discovery.authorization_endpoint}?client_id=${CLIENT.client_id}`, jar, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: built.params.toString(),
  });
  t.is(both.status, 400);
  const json = await request(op.discovery.authorization_endpoint, jar, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(Object.fromEntries(built.params)),
  });
  t.is(json.status, 415);
  const dup = await request(op.discovery.authorization_endpoint, jar, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `${built.params.toString()}&scope=openid`,
  });
  t.is(dup.status, 400);
  // Too long to become a GET the browser could follow: refused, not redirected.
  const huge = await request(op.discovery.authorization_endpoint, jar, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `${built.params.toString()}&login_hint=${'x'.repeat(9000)}`,
  });
  t.is(huge.status, 400);
  t.is(huge.headers.get('location'), null);
});
