/**
 * Response headers: every HTML page (sign-in, consent, error, logout) carries a strict CSP with a per-response
 * nonce, frame-ancestors 'none', nosniff and no-referrer, and its inline style/script only with that nonce;
 * token-bearing JSON answers are `Cache-Control: no-store`; CORS is granted only to registered client origins.
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import test from 'ava';
import * as oidc from 'openid-client';
import { CookieJar, loginThroughPages, request } from '../helpers/browserless-login.ts';
import { cspNonce } from '../../src/web/security-headers.ts';
import { startGatehouse } from '../helpers/gatehouse.ts';
import { basic, CLIENTS, codeFlow, FORM, REDIRECT, rp, SECRET_A } from './fixtures.ts';

function assertPageHeaders(t: import('ava').ExecutionContext, res: Response, html: string, what: string) {
  const csp = res.headers.get('content-security-policy') ?? '';
  t.regex(csp, /default-src 'none'/, what);
  t.regex(csp, /frame-ancestors 'none'/, what);
  t.regex(csp, /base-uri 'none'/, what);
  t.notRegex(csp, /unsafe-inline|unsafe-eval/, what);
  const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
  t.truthy(nonce, what);
  t.is(res.headers.get('x-content-type-options'), 'nosniff', what);
  t.is(res.headers.get('referrer-policy'), 'no-referrer', what);
  // Every inline <style>/<script> carries this response's nonce; no inline event handlers.
  for (const tag of html.match(/<(style|script)\b[^>]*>/g) ?? [])
    t.true(tag.includes(`nonce="${nonce}"`) || /\bsrc=/.test(tag), `${what}: ${tag}`);
  t.notRegex(html, /\son[a-z]+=/i, `${what}: no inline handlers`);
  return nonce as string;
}

test('sign-in, consent, error and logout pages carry the strict headers, with a fresh nonce each time', async (t) => {
  const gh = await startGatehouse(t, { clients: CLIENTS });
  const jar = new CookieJar();
  const auth = `${gh.issuer}/auth?${new URLSearchParams({ client_id: 'client-a', response_type: 'code', scope: 'openid', redirect_uri: REDIRECT })}`;
  const start = await request(auth, jar);
  const pageUrl = new URL(start.headers.get('location') as string, gh.issuer).href;
  const loginPage = await request(pageUrl, jar);
  const n1 = assertPageHeaders(t, loginPage, await loginPage.text(), 'login');
  const again = await request(pageUrl, jar);
  t.not(assertPageHeaders(t, again, await again.text(), 'login again'), n1, 'a fresh nonce per response');
  t.is(loginPage.headers.get('cache-control'), 'no-store');

  const post = await request(`${pageUrl}/login`, jar, {
    method: 'POST',
    headers: { ...FORM, origin: gh.issuer },
    body: 'username=demo&password=demo-password',
  });
  const consentUrl = new URL(post.headers.get('location') as string, gh.issuer).href;
  let res = await request(consentUrl, jar);
  while (res.status === 303) res = await request(new URL(res.headers.get('location') as string, gh.issuer).href, jar);
  const consentHtml = await res.text();
  t.regex(consentHtml, /decision/);
  assertPageHeaders(t, res, consentHtml, 'consent');

  const error = await fetch(`${gh.issuer}/auth?client_id=nope`, { headers: { accept: 'text/html' } });
  assertPageHeaders(t, error, await error.text(), 'error page');
  const notFound = await fetch(`${gh.issuer}/nowhere`, { headers: { accept: 'text/html' } });
  assertPageHeaders(t, notFound, await notFound.text(), '404 page');

  const a = await rp(gh.issuer, 'client-a');
  const { jar: signedIn } = await loginThroughPages(
    oidc.buildAuthorizationUrl(a, { redirect_uri: REDIRECT, scope: 'openid' }),
    gh.issuer,
    { username: 'demo', password: 'demo-password' },
  );
  const logout = await request(`${gh.issuer}/session/end?client_id=client-a`, signedIn);
  assertPageHeaders(t, logout, await logout.text(), 'logout confirmation');
});

test('token, userinfo and introspection answers are no-store; CORS only for registered client origins', async (t) => {
  const gh = await startGatehouse(t, { clients: CLIENTS });
  const a = await rp(gh.issuer, 'client-a');
  const { tokens } = await codeFlow(gh.issuer, a, 'openid offline_access');
  const auth = { ...FORM, authorization: basic('client-a', SECRET_A) };
  const token = await fetch(`${gh.issuer}/token`, {
    method: 'POST',
    headers: auth,
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string }),
  });
  t.is(token.status, 200);
  t.regex(token.headers.get('cache-control') ?? '', /no-store/);
  const fresh = (await token.json()) as { access_token: string };
  const me = await fetch(`${gh.issuer}/me`, { headers: { authorization: `Bearer ${fresh.access_token}` } });
  t.is(me.status, 200);
  t.regex(me.headers.get('cache-control') ?? '', /no-store/);
  const intro = await fetch(`${gh.issuer}/token/introspection`, {
    method: 'POST',
    headers: auth,
    body: new URLSearchParams({ token: fresh.access_token }),
  });
  t.regex(intro.headers.get('cache-control') ?? '', /no-store/);
  const err = await fetch(`${gh.issuer}/token`, {
    method: 'POST',
    headers: auth,
    body: 'grant_type=refresh_token&refresh_token=nope',
  });
  t.regex(err.headers.get('cache-control') ?? '', /no-store/);

  // CORS: the client's registered origin (from its redirect URIs) is allowed at the token endpoint; others not.
  const preflight = (origin: string) =>
    fetch(`${gh.issuer}/token`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
  const cors = (origin: string) =>
    fetch(`${gh.issuer}/token`, {
      method: 'POST',
      headers: { ...auth, origin },
      body: new URLSearchParams({ grant_type: 'client_credentials' }),
    });
  const good = await cors('https://app.example');
  t.is(good.headers.get('access-control-allow-origin'), 'https://app.example');
  const evil = await cors('https://evil.example');
  t.not(evil.headers.get('access-control-allow-origin'), 'https://evil.example');
  t.not(evil.headers.get('access-control-allow-origin'), '*');
  t.true((await preflight('https://evil.example')).status < 500);
  // Discovery and JWKS are public documents: readable from any origin, and never carry cookies.
  const disco = await fetch(`${gh.issuer}/.well-known/openid-configuration`, {
    headers: { origin: 'https://evil.example' },
  });
  t.is(disco.headers.get('access-control-allow-credentials'), null);
});

test('https issuer: every response carries Strict-Transport-Security for at least a year; includeSubDomains only when configured', async (t) => {
  const issuer = 'https://gatehouse.test';
  const paths = ['/.well-known/openid-configuration', '/jwks', '/nowhere', '/healthz', `/auth?client_id=nope`];
  for (const includeSubDomains of [false, true]) {
    const gh = await startGatehouse(t, { clients: CLIENTS, issuer, 'hsts.includeSubDomains': includeSubDomains });
    const server = `http://127.0.0.1:${(gh.server.address() as { port: number }).port}`;
    const answers = await Promise.all([
      ...paths.map((p) => fetch(`${server}${p}`, { headers: { accept: 'text/html' }, redirect: 'manual' })),
      fetch(`${server}/token`, {
        method: 'POST',
        headers: { ...FORM, authorization: basic('client-a', 'wrong') },
        body: 'grant_type=client_credentials',
      }),
    ]);
    for (const res of answers) {
      const hsts = res.headers.get('strict-transport-security') ?? '';
      const maxAge = Number(/^max-age=(\d+)(; includeSubDomains)?$/.exec(hsts)?.[1]);
      t.true(maxAge >= 31_536_000, `${res.url} ${res.status}: ${hsts}`);
      t.is(hsts.endsWith('; includeSubDomains'), includeSubDomains, `${res.url}: ${hsts}`);
    }
  }
  // An http issuer (development) never sends it: it would pin the host name to https in the browser.
  const plain = await startGatehouse(t, { clients: CLIENTS });
  const disco = await fetch(`${plain.issuer}/.well-known/openid-configuration`);
  t.is(disco.status, 200);
  t.is(disco.headers.get('strict-transport-security'), null);
});

test('CSP nonces are 16 random bytes, never handed out twice (across refills of their random pool)', (t) => {
  const seen = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const res = new ServerResponse(new IncomingMessage(new Socket()));
    const nonce = cspNonce(res);
    t.is(cspNonce(res), nonce, 'the same nonce for the whole response');
    t.is(Buffer.from(nonce, 'base64').length, 16);
    seen.add(nonce);
  }
  t.is(seen.size, 1000);
});
