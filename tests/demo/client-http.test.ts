/**
 * The demo web client at the HTTP level: its CSP, cross-site refusal, and clear 4xx for bad input (never a 500).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import pino from 'pino';
import { createDemoClient, SESSION_COOKIE } from '../../src/demo/app.ts';
import { loadDemoClientConfig } from '../../src/demo/config.ts';
import { CookieJar, loginThroughPages, request } from '../helpers/browserless-login.ts';
import { startGatehouse } from '../helpers/gatehouse.ts';
import { AUDIENCE, startApi } from '../resource-server/api.ts';

async function setup(t: ExecutionContext, issuer?: string) {
  const bff = createServer();
  await new Promise<void>((resolve) => bff.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(bff.address() as AddressInfo).port}`;
  t.teardown(() => {
    bff.closeAllConnections();
    bff.close();
  });
  const gh = issuer
    ? undefined
    : await startGatehouse(t, { 'demo.redirectUri': `${origin}/callback`, 'demo.postLogoutRedirectUri': `${origin}/` });
  const api = gh ? await startApi(t, { issuer: gh.issuer }) : undefined;
  const cfg = loadDemoClientConfig({
    ISSUER: issuer ?? gh?.issuer,
    DEMO_REDIRECT_URI: `${origin}/callback`,
    DEMO_POST_LOGOUT_REDIRECT_URI: `${origin}/`,
    API_URL: api?.url ?? 'http://127.0.0.1:9',
    API_AUDIENCE: AUDIENCE,
  });
  const client = createDemoClient(cfg, pino({ level: 'silent' }));
  bff.on('request', client.app.callback());
  return { origin, gh, client };
}

const sessionId = (jar: CookieJar) => new RegExp(`${SESSION_COOKIE}=([^;]+)`).exec(jar.header())?.[1];

async function signIn(origin: string, issuer: string): Promise<CookieJar> {
  const jar = new CookieJar();
  const start = await request(`${origin}/login`, jar);
  const { callback } = await loginThroughPages(start.headers.get('location') as string, issuer, {
    username: 'demo',
    password: 'demo-password',
    jar,
  });
  const before = sessionId(jar);
  const back = await request(callback.href, jar);
  if (back.status !== 303) throw new Error(`callback answered ${back.status}`);
  if (!before || sessionId(jar) === before) throw new Error('the session id did not change at sign-in');
  return jar;
}

test('the page has a strict nonce CSP, and its only scripts carry that nonce', async (t) => {
  const { origin } = await setup(t);
  const res = await fetch(`${origin}/`);
  t.is(res.status, 200);
  const csp = res.headers.get('content-security-policy') ?? '';
  const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
  t.truthy(nonce);
  t.notRegex(csp, /unsafe-inline|unsafe-eval/);
  t.regex(csp, /default-src 'none'/);
  t.regex(csp, /frame-ancestors 'none'/);
  const html = await res.text();
  const executable = [...html.matchAll(/<script(?![^>]*type="application\/json")([^>]*)>/g)];
  t.true(executable.length > 0);
  for (const [, attrs] of executable) t.is(attrs, ` nonce="${nonce}"`);
  t.notRegex(html, /\son[a-z]+=/i, 'no inline event handlers');
});

test('a signed-in session (new id at sign-in): no token in the page, API call through the client', async (t) => {
  const { origin, gh } = await setup(t);
  const jar = await signIn(origin, gh?.issuer as string);
  const page = await request(`${origin}/`, jar);
  const html = await page.text();
  t.regex(html, /Signed in as <strong id="user-name">Demo User<\/strong>/);
  t.notRegex(html, /eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/, 'no JWT in the page');
  const called = await request(`${origin}/call/profile`, jar, {
    method: 'POST',
    headers: { 'x-demo-request': '1', origin },
  });
  t.is(called.status, 200);
  const body = (await called.json()) as { status: number; body: { client_id: string } };
  t.is(body.status, 200);
  t.is(body.body.client_id, 'demo-client');
});

test('the session cookie is HttpOnly and SameSite=Lax', async (t) => {
  const { origin } = await setup(t);
  const res = await fetch(`${origin}/login`, { redirect: 'manual' });
  t.is(res.status, 303);
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`)) ?? '';
  t.regex(cookie, /httponly/i);
  t.regex(cookie, /samesite=lax/i);
  t.regex(res.headers.get('location') ?? '', /code_challenge_method=S256/);
  t.regex(res.headers.get('location') ?? '', /[?&]state=[^&]+/);
  t.regex(res.headers.get('location') ?? '', /[?&]nonce=[^&]+/);
});

test('cross-site calls and logouts are refused; API calls need the X-Demo-Request header', async (t) => {
  const { origin, gh } = await setup(t);
  const jar = await signIn(origin, gh?.issuer as string);
  const evil = await request(`${origin}/call/profile`, jar, {
    method: 'POST',
    headers: { 'x-demo-request': '1', origin: 'http://evil.example' },
  });
  t.is(evil.status, 403);
  const crossSite = await request(`${origin}/logout`, jar, {
    method: 'POST',
    headers: { 'sec-fetch-site': 'cross-site' },
  });
  t.is(crossSite.status, 403);
  const noHeader = await request(`${origin}/call/profile`, jar, { method: 'POST', headers: { origin } });
  t.is(noHeader.status, 400);
  const stillIn = await request(`${origin}/call/profile`, jar, {
    method: 'POST',
    headers: { 'x-demo-request': '1', origin },
  });
  t.is(stillIn.status, 200, 'the refused requests did not end the session');
});

test('bad callbacks are clear 400s, never 500s', async (t) => {
  const { origin } = await setup(t);
  t.is((await fetch(`${origin}/callback?code=abc&state=xyz`)).status, 400, 'no sign-in in progress');
  const jar = new CookieJar();
  await request(`${origin}/login`, jar);
  const wrongState = await request(`${origin}/callback?code=abc&state=not-the-state`, jar);
  t.is(wrongState.status, 400);
  t.regex(await wrongState.text(), /id="problem"/);
  await request(`${origin}/login`, jar);
  const denied = await request(`${origin}/callback?error=access_denied&state=whatever`, jar);
  t.is(denied.status, 400);
  t.is((await fetch(`${origin}/nope`)).status, 404);
});

test('Gatehouse unreachable: signing in is a 503 with an explanation', async (t) => {
  const { origin } = await setup(t, 'http://127.0.0.1:9');
  const res = await fetch(`${origin}/login`, { redirect: 'manual' });
  t.is(res.status, 503);
  t.regex(await res.text(), /Gatehouse cannot be reached/);
});
