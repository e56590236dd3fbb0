/**
 * Sign-in, consent and logout pages as a browser without JavaScript uses them.
 */
import test from 'ava';
import * as oidc from 'openid-client';
import { CookieJar, loginThroughPages, request, discoverClient } from '../helpers/browserless-login.ts';
import { startGatehouse } from '../helpers/gatehouse.ts';
import { capture, defined } from '../helpers/defined.ts';

const REDIRECT = 'https://third.example/cb';
const SECRET = 'third-party-secret-0123456789abcdef0123456789abcdef';

async function setup(t: import('ava').ExecutionContext) {
  const gh = await startGatehouse(t, {
    clients: [
      {
        client_id: 'third',
        client_name: 'Third <Party>',
        client_secret: SECRET,
        redirect_uris: [REDIRECT],
        post_logout_redirect_uris: ['https://third.example/bye'],
        grant_types: ['authorization_code', 'refresh_token'],
      },
    ],
  });
  const config = await discoverClient(gh.issuer, 'third', SECRET);
  return { gh, config };
}

const DEMO = { username: 'demo', password: 'demo-password' };

/** `third` signed in and consented (scope openid, state 'a'), and its tokens: a browser session to log out of. */
async function signedIn(t: import('ava').ExecutionContext) {
  const { gh, config } = await setup(t);
  const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', state: 'a' });
  const { callback, jar } = await loginThroughPages(url, gh.issuer, { ...DEMO, consent: 'allow' });
  const tokens = await oidc.authorizationCodeGrant(config, callback, { expectedState: 'a' });
  return { gh, config, jar, tokens };
}

/** Submits the logout confirmation page `html` with "Yes, sign me out" (`logout: 'yes'`) or "No" (no `logout`). */
function confirmLogout(html: string, issuer: string, jar: CookieJar, logout: boolean): Promise<Response> {
  const action = capture(/action="([^"]+\/session\/end\/confirm)"/, html);
  const xsrf = capture(/name="xsrf" value="([^"]+)"/, html);
  return request(new URL(action, issuer).toString(), jar, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(logout ? { xsrf, logout: 'yes' } : { xsrf }).toString(),
  });
}

test('a third-party client gets a consent page listing the scopes, escaped; allow completes the flow', async (t) => {
  const { gh, config } = await setup(t);
  const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid email', state: 'st' });
  const { callback, pages } = await loginThroughPages(url, gh.issuer, { ...DEMO, consent: 'allow' });
  t.is(pages.length, 2, 'login page, then consent page');
  t.regex(defined(pages[1], 'pages[1]'), /Third &lt;Party&gt;/);
  t.notRegex(defined(pages[1], 'pages[1]'), /Third <Party>/);
  t.regex(defined(pages[1], 'pages[1]'), /See your email address <small>\(email\)<\/small>/);
  t.truthy(callback.searchParams.get('code'));
  t.is(callback.searchParams.get('state'), 'st');
});

test('deny on the consent page returns access_denied to the client', async (t) => {
  const { gh, config } = await setup(t);
  const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', state: 'st' });
  const { callback } = await loginThroughPages(url, gh.issuer, { ...DEMO, consent: 'deny' });
  t.is(callback.searchParams.get('error'), 'access_denied');
  t.is(callback.searchParams.get('code'), null);
});

test('a first-party client skips consent', async (t) => {
  const gh = await startGatehouse(t);
  const verifier = oidc.randomPKCECodeVerifier();
  const url = new URL('/auth', gh.issuer);
  url.search = new URLSearchParams({
    client_id: 'demo-client',
    response_type: 'code',
    scope: 'openid profile offline_access',
    redirect_uri: 'http://localhost:5000/callback',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  }).toString();
  const { callback, pages } = await loginThroughPages(url, gh.issuer, { username: 'demo', password: 'demo-password' });
  t.is(pages.length, 1, 'only the login page');
  t.truthy(callback.searchParams.get('code'));
});

/** Every Gatehouse path a browser visits (GETs and form posts) from the authorization request to the client. */
async function walk(
  gh: { issuer: string },
  start: URL,
  jar = new CookieJar(),
): Promise<{ paths: string[]; callback: URL; jar: CookieJar }> {
  const paths: string[] = [];
  let url = start.toString();
  for (let hop = 0; hop < 12; hop++) {
    if (!url.startsWith(gh.issuer)) return { paths, callback: new URL(url), jar };
    paths.push(`GET ${new URL(url).pathname}`);
    const res = await request(url, jar);
    if (res.status === 200) {
      const html = await res.text();
      const action = capture(/action="([^"]*\/(?:login|confirm))"/, html);
      must(action, `a form on ${new URL(url).pathname}`);
      paths.push(`POST ${action.replace(/[^/]+\/(login|confirm)$/, ':uid/$1')}`);
      const form: Record<string, string> = action.endsWith('/login')
        ? { username: 'demo', password: 'demo-password' }
        : { decision: 'allow' };
      const post = await request(new URL(action, gh.issuer).toString(), jar, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: gh.issuer },
        body: new URLSearchParams(form).toString(),
      });
      url = new URL(post.headers.get('location') as string, url).toString();
    } else {
      url = new URL(res.headers.get('location') as string, url).toString();
    }
  }
  throw new Error('too many hops');
}

function must(value: unknown, what: string): asserts value {
  if (!value) throw new Error(`missing: ${what}`);
}

async function firstPartyRequest(gh: { issuer: string }, params: Record<string, string>) {
  const verifier = oidc.randomPKCECodeVerifier();
  const url = new URL('/auth', gh.issuer);
  url.search = new URLSearchParams({
    client_id: 'demo-client',
    response_type: 'code',
    redirect_uri: 'http://localhost:5000/callback',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...params,
  }).toString();
  const config = await discoverClient(gh.issuer, 'demo-client');
  return { url, verifier, config };
}

test('a first-party client gets its consent with a fresh sign-in: no consent interaction, and the tokens carry every scope asked for', async (t) => {
  const gh = await startGatehouse(t);
  const { url, verifier, config } = await firstPartyRequest(gh, { scope: 'openid profile offline_access api:read' });
  const { paths, callback, jar } = await walk(gh, url);
  t.is(
    paths.filter((p) => p.startsWith('GET /interaction/')).length,
    1,
    `one interaction (the sign-in page): ${paths.join(', ')}`,
  );
  t.is(paths.length, 4, 'GET /auth, sign-in page, POST login, resume straight to the client');
  const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier });
  const claims = JSON.parse(
    Buffer.from(
      defined(tokens.access_token.split('.')[1], "tokens.access_token.split('.')[1]"),
      'base64url',
    ).toString(),
  ) as Record<string, unknown>;
  t.is(claims.aud, 'http://localhost:4000', 'a JWT for the default resource server');
  t.is(claims.scope, 'api:read');
  t.truthy(tokens.refresh_token);
  t.truthy(tokens.claims()?.sub);
  // The grant holds everything asked for: the same request with prompt=none needs no consent.
  const again = await firstPartyRequest(gh, { scope: 'openid profile offline_access api:read', prompt: 'none' });
  const silent = await walk(gh, again.url, jar);
  t.truthy(
    silent.callback.searchParams.get('code'),
    `no consent_required: ${silent.callback.searchParams.get('error')}`,
  );
  t.is(silent.paths.length, 1);
  const audit = gh.logs.filter((l) => l.audit === 'consent.granted');
  t.is(audit.length, 1, 'the consent is audited once');
  t.is(audit[0]?.reason, 'first_party');
});

test('a first-party request the early grant cannot resolve (claims parameter) still gets consent without a page, from the consent step', async (t) => {
  const gh = await startGatehouse(t);
  const { url, verifier, config } = await firstPartyRequest(gh, {
    scope: 'openid email',
    claims: JSON.stringify({ userinfo: { name: null } }),
  });
  const { paths, callback } = await walk(gh, url);
  t.is(
    paths.filter((p) => p.startsWith('GET /interaction/')).length,
    2,
    `sign-in, then the consent step without a page: ${paths.join(', ')}`,
  );
  t.false(
    paths.some((p) => p.endsWith('/confirm')),
    'no consent form',
  );
  const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier });
  const info = await oidc.fetchUserInfo(config, tokens.access_token, oidc.skipSubjectCheck);
  t.is(info.email, 'demo@example.com');
  t.is(typeof info.name, 'string', 'the claim asked for with the claims parameter was granted');
});

test('a public client without PKCE, or with plain PKCE, is refused', async (t) => {
  const gh = await startGatehouse(t);
  const base = {
    client_id: 'demo-client',
    response_type: 'code',
    scope: 'openid',
    redirect_uri: 'http://localhost:5000/callback',
  };
  const noPkce = await fetch(`${gh.issuer}/auth?${new URLSearchParams(base)}`, { redirect: 'manual' });
  t.is(new URL(noPkce.headers.get('location') as string).searchParams.get('error'), 'invalid_request');
  const plain = await fetch(
    `${gh.issuer}/auth?${new URLSearchParams({ ...base, code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' })}`,
    { redirect: 'manual' },
  );
  t.is(new URL(plain.headers.get('location') as string).searchParams.get('error'), 'invalid_request');
});

test('a failed sign-in shows one generic message and keeps the escaped username', async (t) => {
  const { gh, config } = await setup(t);
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope: 'openid',
    login_hint: '"><script>x</script>',
  });
  const err = await t.throwsAsync(loginThroughPages(url, gh.issuer, { username: 'demo', password: 'wrong-password' }));
  const html = (err as unknown as { html: string }).html;
  t.regex(html, /Invalid username or password, or the account cannot sign in right now/);
  t.notRegex(html, /wrong-password/);
  const jar = new CookieJar();
  const first = await request(url.toString(), jar);
  const page = await (
    await request(new URL(first.headers.get('location') as string, gh.issuer).toString(), jar)
  ).text();
  t.regex(page, /value="&quot;&gt;&lt;script&gt;x&lt;\/script&gt;"/, 'login_hint prefilled, escaped');
});

test('prompt=none without a session answers login_required; with one it succeeds; prompt=login asks again', async (t) => {
  const { gh, config } = await setup(t);
  const none = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', prompt: 'none' });
  const { callback: noSession } = await loginThroughPages(none, gh.issuer, { username: 'x', password: 'y' });
  t.is(noSession.searchParams.get('error'), 'login_required');

  const first = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid' });
  const { jar } = await loginThroughPages(first, gh.issuer, { username: 'demo', password: 'demo-password' });
  const { callback: silent, pages } = await loginThroughPages(none, gh.issuer, { username: 'x', password: 'y', jar });
  t.is(pages.length, 0);
  t.truthy(silent.searchParams.get('code'));

  const again = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', prompt: 'login' });
  const { pages: relogin } = await loginThroughPages(again, gh.issuer, {
    username: 'demo',
    password: 'demo-password',
    jar,
  });
  t.regex(defined(relogin[0], 'relogin[0]'), /<h1>Sign in<\/h1>/);
});

test('RP-initiated logout ends the session and returns to the registered URI with state', async (t) => {
  const { gh, config, jar, tokens } = await signedIn(t);
  const end = oidc.buildEndSessionUrl(config, {
    id_token_hint: tokens.id_token as string,
    post_logout_redirect_uri: 'https://third.example/bye',
    state: 'bye-state',
  });
  const confirmPage = await request(end.toString(), jar);
  t.is(confirmPage.status, 200);
  const done = await confirmLogout(await confirmPage.text(), gh.issuer, jar, true);
  t.is(done.status, 303);
  const back = new URL(done.headers.get('location') as string);
  t.is(back.origin + back.pathname, 'https://third.example/bye');
  t.is(back.searchParams.get('state'), 'bye-state');

  const none = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', prompt: 'none' });
  const { callback: after } = await loginThroughPages(none, gh.issuer, { username: 'x', password: 'y', jar });
  t.is(after.searchParams.get('error'), 'login_required');
  const intro = await oidc.tokenIntrospection(config, tokens.access_token);
  t.false(intro.active, 'the grant of a client without offline_access is revoked at logout');
});

/** The logout confirmation page of `endSessionUrl`, answered with its "No, stay signed in" button. */
async function stayOnLogoutPage(endSessionUrl: string, issuer: string, jar: CookieJar): Promise<Response> {
  const html = await (await request(endSessionUrl, jar)).text();
  assertStayButton(html);
  const done = await confirmLogout(html, issuer, jar, false);
  if (done.status !== 303) throw new Error(`confirm answered ${done.status}`);
  return request(new URL(done.headers.get('location') as string, issuer).toString(), jar);
}

function assertStayButton(html: string): void {
  if (!/<button type="submit" form="op.logoutForm" class="link">No, stay signed in<\/button>/.test(html))
    throw new Error('no "No, stay signed in" button');
}

/** A silent (prompt=none) authorization of `third`: 'code', or the error (login_required: no session). */
async function silentAuthorization(config: oidc.Configuration, issuer: string, jar: CookieJar): Promise<string> {
  const none = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', prompt: 'none' });
  const { callback } = await loginThroughPages(none, issuer, { username: 'x', password: 'y', jar });
  return callback.searchParams.has('code') ? 'code' : (callback.searchParams.get('error') as string);
}

test('"No, stay signed in" keeps the session and the page says so', async (t) => {
  const { gh, config } = await setup(t);
  const { jar } = await loginThroughPages(
    oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid' }),
    gh.issuer,
    { ...DEMO, consent: 'allow' },
  );
  t.is(await silentAuthorization(config, gh.issuer, jar), 'code');

  const page = await stayOnLogoutPage(new URL('/session/end', gh.issuer).toString(), gh.issuer, jar);
  t.is(page.status, 200);
  const html = await page.text();
  t.regex(html, /<h1>You are still signed in<\/h1>/);
  t.regex(html, /You are still signed in to Gatehouse\. Nothing changed\./);
  t.notRegex(html, /signed out of Gatehouse/);
  t.is(await silentAuthorization(config, gh.issuer, jar), 'code', 'the session and the consent are still there');
});

test('"No, stay signed in" from a client\'s logout: signed out of that client only, and the page says so', async (t) => {
  const { gh, config, jar, tokens } = await signedIn(t);
  const end = oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token as string });
  const html = await (await stayOnLogoutPage(end.toString(), gh.issuer, jar)).text();
  t.regex(html, /You are still signed in to Gatehouse\. Only <strong>Third &lt;Party&gt;<\/strong> signed you out\./);
  // The session lives on (not login_required); the client's own authorization is gone, so it must ask again.
  t.is(await silentAuthorization(config, gh.issuer, jar), 'consent_required');

  // "Yes" still signs out, and that page says so.
  const page = await request(new URL('/session/end', gh.issuer).toString(), jar);
  const confirm = await page.text();
  const done = await request(new URL(capture(/action="([^"]+)"/, confirm), gh.issuer).toString(), jar, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      xsrf: capture(/name="xsrf" value="([^"]+)"/, confirm),
      logout: 'yes',
    }).toString(),
  });
  const signedOut = await (
    await request(new URL(done.headers.get('location') as string, gh.issuer).toString(), jar)
  ).text();
  t.regex(signedOut, /<h1>Signed out<\/h1>/);
  t.regex(signedOut, /You are signed out of Gatehouse\./);
  t.is(await silentAuthorization(config, gh.issuer, jar), 'login_required');
});
