/**
 * The whole token lifecycle in a real headless Chromium against a real Gatehouse, the real demo API and the demo
 * web client (each on its own HTTP server on port 0): sign in through Gatehouse's pages, call the API, wait past
 * the access token's expiry, see the next call succeed after a silent refresh, sign out (revocation +
 * RP-initiated logout), and see the API refuse and the old refresh token rejected.
 *
 * Screenshots of every step go to tests/artifacts/screenshots/ (gitignored).
 */
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import * as oidc from 'openid-client';
import type { Page } from 'playwright-core';
import pino from 'pino';
import { createDemoClient, type DemoClient, SESSION_COOKIE } from '../../src/demo/app.ts';
import { loadDemoClientConfig } from '../../src/demo/config.ts';
import type { Session } from '../../src/demo/sessions.ts';
import { startGatehouse } from '../helpers/gatehouse.ts';
import { AUDIENCE, call, startApi } from '../resource-server/api.ts';
import { testChromium } from './chromium.ts';
import { discoverClient } from '../helpers/browserless-login.ts';

const ACCESS_TOKEN_TTL = 4;
const SHOTS = new URL('../artifacts/screenshots/', import.meta.url);

async function setup(t: ExecutionContext) {
  const bff = createServer();
  await new Promise<void>((resolve) => bff.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(bff.address() as AddressInfo).port}`;
  t.teardown(() => {
    bff.closeAllConnections();
    bff.close();
  });
  const gh = await startGatehouse(t, {
    'ttl.accessToken': ACCESS_TOKEN_TTL,
    'demo.redirectUri': `${origin}/callback`,
    'demo.postLogoutRedirectUri': `${origin}/`,
  });
  // No clock leeway, as in `npm run demo`: the API refuses the token the second the page's countdown hits zero.
  const api = await startApi(t, { issuer: gh.issuer, clockToleranceSeconds: 0 });
  const cfg = loadDemoClientConfig({
    ISSUER: gh.issuer,
    DEMO_PORT: '0',
    DEMO_REDIRECT_URI: `${origin}/callback`,
    DEMO_POST_LOGOUT_REDIRECT_URI: `${origin}/`,
    API_URL: api.url,
    API_AUDIENCE: AUDIENCE,
  });
  const client = createDemoClient(cfg, pino({ level: 'silent' }));
  bff.on('request', client.app.callback());
  return { gh, api, origin, client };
}

async function sessionOf(page: Page, client: DemoClient): Promise<Session | undefined> {
  const cookie = (await page.context().cookies()).find((c) => c.name === SESSION_COOKIE);
  return client.sessions.get(cookie?.value);
}

function watchPage(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (msg) => {
    if (/Content Security Policy|Refused to/i.test(msg.text()))
      problems.push(`${page.url().split('?')[0]}: ${msg.text()}`); // no query: it can carry an ID token
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  return problems;
}

test.serial('sign in, call the API, silent refresh after expiry, sign out: tokens stop working', async (t) => {
  mkdirSync(SHOTS, { recursive: true });
  const shot = (page: Page, name: string) =>
    page.screenshot({ path: new URL(`${name}.png`, SHOTS).pathname, fullPage: true });
  const { gh, api, origin, client } = await setup(t);
  const browser = await testChromium(t);
  const page = await browser.newPage();
  const problems = watchPage(page);

  // 1. Signed out: the page offers to sign in.
  await page.goto(`${origin}/`);
  await page.locator('#login').waitFor();
  await shot(page, '01-signed-out');

  // 2. Gatehouse's own sign-in page (the demo client is first-party: no consent page).
  await page.click('#login');
  await page.waitForURL((u) => u.href.startsWith(`${gh.issuer}/interaction/`));
  await page.fill('#username', 'demo');
  await page.fill('#password', 'demo-password');
  await shot(page, '02-gatehouse-sign-in');
  await page.click('button[type=submit]:has-text("Sign in")');

  // 3. Back at the client, signed in; the cookie is HttpOnly and SameSite, and holds no token.
  await page.waitForURL(`${origin}/`);
  t.is(await page.textContent('#user-name'), 'Demo User');
  const cookie = (await page.context().cookies()).find((c) => c.name === SESSION_COOKIE);
  t.true(cookie?.httpOnly);
  t.is(cookie?.sameSite, 'Lax');
  const first = (await sessionOf(page, client))?.tokens;
  if (!first?.refreshToken) throw new Error('no tokens in the session after sign-in');
  t.false((await page.content()).includes(first.accessToken), 'the page never contains the access token');
  t.false((await page.content()).includes(first.refreshToken), 'nor the refresh token');
  await shot(page, '03-signed-in');

  // 4. The API answers with the user's identity.
  await page.click('#call-profile');
  await page.locator('#answer[data-status="200"]').waitFor();
  const answer = (await page.textContent('#answer')) ?? '';
  t.regex(answer, /"client_id": "demo-client"/);
  t.regex(answer, /"roles": \[\s*"user"\s*\]/);
  await shot(page, '04-api-answer');

  // 5. The countdown reaches zero: the access token has expired.
  await page.locator('#countdown[data-expired="true"]').waitFor({ timeout: (ACCESS_TOKEN_TTL + 5) * 1000 });
  t.true(first.expiresAt <= Date.now());
  await shot(page, '05-access-token-expired');

  // 6. The next call gets a 401 from the API, refreshes once, retries, and succeeds.
  const called = page.waitForResponse((r) => r.url() === `${origin}/call/profile`);
  await page.click('#call-profile');
  await called;
  await page.locator('#answer[data-status="200"]').waitFor();
  await page.locator('#log li[data-kind="refresh"]').waitFor();
  const kinds = await page.$$eval('#log li', (items) => items.map((li) => li.getAttribute('data-kind')).reverse());
  const from = kinds.lastIndexOf('401');
  t.true(from > 0, 'the API refused the expired token');
  t.deepEqual(kinds.slice(from, from + 4), ['401', 'refresh', 'tokens', 'api']);
  t.regex(
    (await page.textContent('#log li:first-child')) ?? '',
    /Retried GET \/api\/profile with the new access token → 200/,
  );
  const second = (await sessionOf(page, client))?.tokens;
  if (!second?.refreshToken) throw new Error('no tokens after the refresh');
  t.not(second.accessToken, first.accessToken);
  t.not(second.refreshToken, first.refreshToken, 'the refresh token rotated');
  t.true(second.expiresAt > Date.now());
  await shot(page, '06-silent-refresh');

  // 7. Sign out: the client revokes the refresh token and sends the browser to Gatehouse to end its session.
  await page.click('#logout');
  await page.waitForURL((u) => u.href.startsWith(gh.issuer));
  await shot(page, '07-gatehouse-sign-out');
  await page.click('button[name=logout][value=yes]');
  await page.waitForURL((u) => u.href.startsWith(`${origin}/?state=`));
  await page.locator('#signed-out').waitFor();
  t.regex((await page.textContent('#log')) ?? '', /Refresh token revoked at Gatehouse/);
  t.regex((await page.textContent('#log')) ?? '', /its session has ended too/);
  t.falsy(
    (await page.context().cookies()).find((c) => c.name === SESSION_COOKIE),
    'the session cookie is cleared',
  );
  await shot(page, '08-signed-out');

  // 8. Afterwards: the client cannot call the API, the old refresh token is rejected, and once the last access
  //    token expires the API itself refuses it.
  const viaClient = await page.evaluate(async () => {
    const res = await fetch('/call/profile', { method: 'POST', headers: { 'x-demo-request': '1' } });
    return { status: res.status, body: (await res.json()) as { signedIn: boolean } };
  });
  t.is(viaClient.status, 401);
  t.false(viaClient.body.signedIn);
  const rp = await discoverClient(gh.issuer, 'demo-client');
  for (const old of [first.refreshToken, second.refreshToken]) {
    const refused = await t.throwsAsync(oidc.refreshTokenGrant(rp, old));
    t.is((refused as oidc.ResponseBodyError).error, 'invalid_grant');
  }
  await new Promise((r) => setTimeout(r, Math.max(0, second.expiresAt - Date.now()) + 1000));
  const direct = await call(`${api.url}/api/profile`, second.accessToken);
  t.is(direct.status, 401);
  t.is(direct.body.error, 'invalid_token');

  // 9. Gatehouse's session ended too: signing in again asks for the password.
  await page.click('#login');
  await page.waitForURL((u) => u.href.startsWith(`${gh.issuer}/interaction/`));
  await page.locator('#password').waitFor();
  await shot(page, '09-sign-in-needed-again');

  t.deepEqual(problems, [], 'no CSP violation or script error on any page');
});

test.serial(
  'when the silent refresh fails (refresh token revoked elsewhere), the session ends and the login button is back',
  async (t) => {
    mkdirSync(SHOTS, { recursive: true });
    const { gh, origin, client } = await setup(t);
    const browser = await testChromium(t);
    const page = await browser.newPage();
    const problems = watchPage(page);

    await page.goto(`${origin}/login`);
    await page.waitForURL((u) => u.href.startsWith(`${gh.issuer}/interaction/`));
    await page.fill('#username', 'demo');
    await page.fill('#password', 'demo-password');
    await page.click('button[type=submit]:has-text("Sign in")');
    await page.waitForURL(`${origin}/`);
    const tokens = (await sessionOf(page, client))?.tokens;
    if (!tokens?.refreshToken) throw new Error('no tokens in the session after sign-in');

    // Someone (an admin, another device's logout) revokes the grant behind the client's back.
    const rp = await discoverClient(gh.issuer, 'demo-client');
    await oidc.tokenRevocation(rp, tokens.refreshToken);

    await page.locator('#countdown[data-expired="true"]').waitFor({ timeout: (ACCESS_TOKEN_TTL + 5) * 1000 });
    await page.click('#call-profile');
    await page.waitForURL((u) => u.href.startsWith(`${origin}/?state=`));
    await page.locator('#login').waitFor();
    const log = (await page.textContent('#log')) ?? '';
    t.regex(log, /The API refused the access token: the access token has expired/);
    t.regex(log, /Refresh failed \(invalid_grant\)/);
    t.regex(log, /Session cleared here/);
    t.falsy(
      (await page.context().cookies()).find((c) => c.name === SESSION_COOKIE),
      'the session cookie is cleared',
    );
    t.is(client.sessions.size, 0);
    await page.screenshot({ path: new URL('10-refresh-failed-sign-in-again.png', SHOTS).pathname, fullPage: true });
    t.deepEqual(problems, []);
  },
);
