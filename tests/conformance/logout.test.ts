/**
 * oidcc-rp-initiated-logout-certification-test-plan: one ava test per suite module.
 *
 * Each module signs in (code flow), then sends the browser to end_session_endpoint with some parameters.
 * Gatehouse (oidc-provider) always shows a confirmation page first; the suite accepts that and "clicks" through,
 * as these tests do. Then: a valid request lands on the registered post_logout_redirect_uri with `state` and the
 * session is gone (prompt=none gives login_required); a bad one never reaches the post_logout_redirect_uri and
 * ends on an error page, or on Gatehouse's own "signed out" page.
 */
import test, { type ExecutionContext } from 'ava';
import * as jose from 'jose';
import {
  authorizeSilently,
  buildAuthorizationRequest,
  CLIENT,
  type CookieJar,
  checkAuthorizationError,
  conformanceModule,
  happyFlow,
  type ModuleRun,
  POST_LOGOUT_REDIRECT_URI,
  randomValue,
  request,
  fileOp,
} from './harness.ts';

const PLAN = 'oidcc-rp-initiated-logout-certification-test-plan';
const op = fileOp(test);

interface LogoutOutcome {
  /** Where the browser ended: the client's post_logout_redirect_uri, or a Gatehouse page. */
  final: URL | undefined;
  /** The HTML of the last Gatehouse page, and its status. */
  html: string;
  status: number;
  confirmed: boolean;
}

/** Sends the browser to end_session_endpoint, confirms the sign-out if asked, and follows redirects. */
async function endSession(jar: CookieJar, params: Record<string, string>): Promise<LogoutOutcome> {
  const url = new URL(op.discovery.end_session_endpoint);
  url.search = new URLSearchParams(params).toString();
  let res = await request(url.toString(), jar);
  let confirmed = false;
  for (let hop = 0; hop < 6; hop++) {
    if (res.status >= 300 && res.status < 400) {
      const next = new URL(res.headers.get('location') as string, op.issuer);
      if (next.origin !== new URL(op.issuer).origin) return { final: next, html: '', status: res.status, confirmed };
      res = await request(next.toString(), jar);
      continue;
    }
    const html = await res.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1];
    if (res.status !== 200 || !action || !xsrf || confirmed)
      return { final: undefined, html, status: res.status, confirmed };
    confirmed = true;
    res = await request(new URL(action.replaceAll('&amp;', '&'), op.issuer).toString(), jar, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ xsrf, logout: 'yes' }).toString(),
    });
  }
  throw new Error('too many redirects');
}

async function signIn(t: ExecutionContext, run: ModuleRun) {
  const { tokens, jar, claims } = await happyFlow(t, run, op);
  return { idToken: tokens.idToken, jar, claims };
}

/** The session is over: prompt=none now answers login_required (OIDCCRpInitiatedLogout's second authorization). */
async function assertSignedOut(t: ExecutionContext, run: ModuleRun, jar: CookieJar): Promise<void> {
  const built = buildAuthorizationRequest(op, { params: { prompt: 'none' } });
  const res = await authorizeSilently(op, built, jar);
  checkAuthorizationError(t, run, op, built, res, [
    'login_required',
    'interaction_required',
    'consent_required',
    'account_selection_required',
  ]);
}

async function assertStillSignedIn(t: ExecutionContext, jar: CookieJar): Promise<void> {
  const built = buildAuthorizationRequest(op, { params: { prompt: 'none' } });
  const res = await authorizeSilently(op, built, jar);
  t.truthy(res.response.get('code'), 'the session is untouched');
}

/** ExpectSuccessfulLogoutPage: Gatehouse's "signed out" page, no redirect to the client. */
function assertLoggedOutPage(t: ExecutionContext, out: LogoutOutcome): void {
  t.is(out.final, undefined, 'no redirect to the client');
  t.is(out.status, 200);
  t.regex(out.html, /You are signed out/);
}

/** The Expect...ErrorPage placeholders: an error page, never the post_logout_redirect_uri. */
function assertErrorPage(t: ExecutionContext, out: LogoutOutcome, pattern: RegExp): void {
  t.false(
    out.final?.toString().startsWith(POST_LOGOUT_REDIRECT_URI) ?? false,
    'the post_logout_redirect_uri is not called',
  );
  t.is(out.final, undefined);
  t.is(out.status, 400, 'an error page');
  t.false(out.confirmed, 'refused before any confirmation');
  t.regex(out.html, pattern);
}

function checkPostLogoutRedirect(
  t: ExecutionContext,
  run: ModuleRun,
  out: LogoutOutcome,
  state: string | undefined,
): void {
  t.truthy(out.final, 'redirected back to the client');
  const final = out.final as URL;
  t.is(`${final.origin}${final.pathname}`, POST_LOGOUT_REDIRECT_URI);
  t.is(
    final.searchParams.get('state') ?? undefined,
    state,
    state ? 'state returned (CheckPostLogoutState)' : 'no state (CheckNoPostLogoutState)',
  );
  const unexpected = [...final.searchParams.keys()].filter((k) => k !== 'state');
  run.warn(unexpected.length === 0, `post_logout_redirect has unexpected parameters: ${unexpected.join(', ')}`);
}

test('oidcc-rp-initiated-logout-discovery-endpoint-verification', async (t) => {
  conformanceModule(t, PLAN);
  // CheckDiscEndSessionEndpoint (+ CheckDiscEndpointAllEndpointsAreHttps, see config.test.ts for https).
  const endpoint = op.discovery.end_session_endpoint;
  t.is(typeof endpoint, 'string');
  t.is(new URL(endpoint).origin, new URL(op.issuer).origin);
});

test('oidcc-rp-initiated-logout', async (t) => {
  const run = conformanceModule(t, PLAN);
  const { idToken, jar } = await signIn(t, run);
  const state = randomValue();
  const out = await endSession(jar, {
    id_token_hint: idToken,
    post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI,
    state,
  });
  checkPostLogoutRedirect(t, run, out, state);
  await assertSignedOut(t, run, jar);
});

test('oidcc-rp-initiated-logout-bad-post-logout-redirect-uri', async (t) => {
  const run = conformanceModule(t, PLAN);
  const { idToken, jar } = await signIn(t, run);
  const bad = `${POST_LOGOUT_REDIRECT_URI}/${randomValue()}`;
  const out = await endSession(jar, { id_token_hint: idToken, post_logout_redirect_uri: bad, state: randomValue() });
  t.false(out.final?.toString().startsWith(bad) ?? false);
  assertErrorPage(t, out, /post_logout_redirect_uri/);
  await assertStillSignedIn(t, jar);
});

test('oidcc-rp-initiated-logout-modified-id-token-hint', async (t) => {
  const run = conformanceModule(t, PLAN);
  const { idToken, jar } = await signIn(t, run);
  // ChangeIdTokenToAlgNone: same payload, header alg none, no signature.
  const [, payload] = idToken.split('.');
  const header = jose.base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
  const out = await endSession(jar, {
    id_token_hint: `${header}.${payload}.`,
    post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI,
    state: randomValue(),
  });
  assertErrorPage(t, out, /id_token_hint/);
  await assertStillSignedIn(t, jar);
});

test('oidcc-rp-initiated-logout-bad-id-token-hint', async (t) => {
  const run = conformanceModule(t, PLAN);
  const { idToken, jar, claims } = await signIn(t, run);
  const now = Math.floor(Date.now() / 1000);
  // GenerateFakeIdTokenClaims + SignFakeIdToken: signed with the client's own key (its secret, HS256).
  const fake = await new jose.SignJWT({
    iss: CLIENT.client_id,
    sub: 'SubjectID',
    aud: op.issuer,
    nonce: 'flibble',
    iat: now,
    exp: now + 300,
  })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(CLIENT.client_secret));
  const out = await endSession(jar, {
    id_token_hint: fake,
    post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI,
    state: randomValue(),
  });
  assertErrorPage(t, out, /id_token_hint/);
  // Also: the real claims, signed by someone else's RSA key under Gatehouse's kid.
  const { privateKey } = await jose.generateKeyPair('RS256');
  const forged = await new jose.SignJWT({ ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: jose.decodeProtectedHeader(idToken).kid as string })
    .sign(privateKey);
  const out2 = await endSession(jar, {
    id_token_hint: forged,
    post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI,
    state: randomValue(),
  });
  assertErrorPage(t, out2, /id_token_hint/);
  await assertStillSignedIn(t, jar);
});

test('oidcc-rp-initiated-logout-no-id-token-hint', async (t) => {
  const run = conformanceModule(t, PLAN);
  const { jar } = await signIn(t, run);
  const out = await endSession(jar, { post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI, state: randomValue() });
  // Without id_token_hint (or client_id) the post_logout_redirect_uri cannot be checked against a client, so it
  // is not used: the user confirms and lands on Gatehouse's own page, which the suite accepts.
  t.true(out.confirmed, 'the user was asked to confirm');
  t.false(
    out.final?.toString().startsWith(POST_LOGOUT_REDIRECT_URI) ?? false,
    'the post_logout_redirect_uri is not called',
  );
  assertLoggedOutPage(t, out);
  await assertSignedOut(t, run, jar);
});

test('oidcc-rp-initiated-logout-no-params', async (t) => {
  const run = conformanceModule(t, PLAN);
  const { jar } = await signIn(t, run);
  const out = await endSession(jar, {});
  t.true(out.confirmed, 'the user was asked to confirm');
  assertLoggedOutPage(t, out);
  await assertSignedOut(t, run, jar);
});

test('oidcc-rp-initiated-logout-no-post-logout-redirect-uri', async (t) => {
  const run = conformanceModule(t, PLAN);
  const { idToken, jar } = await signIn(t, run);
  const out = await endSession(jar, { id_token_hint: idToken, state: randomValue() });
  assertLoggedOutPage(t, out);
  await assertSignedOut(t, run, jar);
});

test('oidcc-rp-initiated-logout-no-state', async (t) => {
  const run = conformanceModule(t, PLAN);
  const { idToken, jar } = await signIn(t, run);
  const out = await endSession(jar, { id_token_hint: idToken, post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI });
  checkPostLogoutRedirect(t, run, out, undefined);
  await assertSignedOut(t, run, jar);
});

test('oidcc-rp-initiated-logout-only-state', async (t) => {
  const run = conformanceModule(t, PLAN);
  const { jar } = await signIn(t, run);
  const out = await endSession(jar, { state: randomValue() });
  assertLoggedOutPage(t, out);
  await assertSignedOut(t, run, jar);
});

test('oidcc-rp-initiated-logout-query-added-to-post-logout-redirect-uri', async (t) => {
  const run = conformanceModule(t, PLAN);
  const { idToken, jar } = await signIn(t, run);
  const out = await endSession(jar, {
    id_token_hint: idToken,
    post_logout_redirect_uri: `${POST_LOGOUT_REDIRECT_URI}?foo=bar`,
    state: randomValue(),
  });
  assertErrorPage(t, out, /post_logout_redirect_uri/);
  await assertStillSignedIn(t, jar);
});
