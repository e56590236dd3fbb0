/**
 * CSRF: the sign-in and consent forms cannot be submitted cross-site. A real Chromium holds a real interaction;
 * a page on another site (http://localhost:<port> against Gatehouse on http://127.0.0.1:<port>) auto-submits a
 * form into it: the browser sends no SameSite=Lax cookie and a cross-site Origin/Sec-Fetch-Site, and Gatehouse
 * answers 403 without touching the interaction, which the user can still complete on Gatehouse's own page.
 * Plain-HTTP cases cover each check on its own.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import type { Page } from 'playwright-core';
import { testChromium } from '../demo/chromium.ts';
import { CookieJar, request } from '../helpers/browserless-login.ts';
import { startGatehouse } from '../helpers/gatehouse.ts';
import { CLIENTS, FORM, REDIRECT } from './fixtures.ts';

async function attackerSite(t: import('ava').ExecutionContext, html: () => string): Promise<string> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(html());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://localhost:${(server.address() as AddressInfo).port}/`;
}

const authUrl = (issuer: string) =>
  `${issuer}/auth?${new URLSearchParams({ client_id: 'client-a', response_type: 'code', scope: 'openid', redirect_uri: REDIRECT, state: 'st' })}`;

async function crossSitePost(page: Page, attacker: string, target: string): Promise<{ status: number; body: string }> {
  const response = page.waitForResponse((r) => r.url() === target && r.request().method() === 'POST');
  await page.goto(attacker);
  const res = await response;
  return { status: res.status(), body: await res.text() };
}

test('Chromium: a cross-site page cannot submit the sign-in or the consent form; the user still can', async (t) => {
  t.timeout(60_000);
  const gh = await startGatehouse(t, { clients: CLIENTS });
  let form = '';
  const attacker = await attackerSite(t, () => form);
  const browser = await testChromium(t);
  const page = await (await browser.newContext()).newPage();

  // The user opens a sign-in; the attacker (who somehow knows the interaction id) posts credentials into it.
  await page.goto(authUrl(gh.issuer));
  const loginUrl = new URL(page.url());
  t.regex(loginUrl.pathname, /^\/interaction\/[\w-]+$/);
  const loginAction = `${loginUrl.href}/login`;
  form = `<form method="post" action="${loginAction}"><input name="username" value="demo"><input name="password" value="demo-password"></form><script>document.forms[0].submit()</script>`;
  const login = await crossSitePost(page, attacker, loginAction);
  t.is(login.status, 403);
  t.regex(login.body, /cross-site form submission refused/);
  t.false(
    gh.logs.some((l) => l.audit === 'login.success'),
    'no one was signed in',
  );

  // Back on Gatehouse's own page, the same interaction still works.
  await page.goto(loginUrl.href);
  await page.fill('#username', 'demo');
  await page.fill('#password', 'demo-password');
  await Promise.all([page.waitForURL(/\/interaction\/[\w-]+$/), page.click('button[type=submit]')]);
  const consentUrl = new URL(page.url());
  t.regex(await page.content(), /Allow access|decision/);

  // The consent form, cross-site: refused, and nothing is granted.
  const confirmAction = `${consentUrl.href}/confirm`;
  form = `<form method="post" action="${confirmAction}"><input name="decision" value="allow"></form><script>document.forms[0].submit()</script>`;
  const consent = await crossSitePost(page, attacker, confirmAction);
  t.is(consent.status, 403);
  t.false(gh.logs.some((l) => l.audit === 'consent.granted'));

  // The user's own click completes it.
  await page.goto(consentUrl.href);
  const [toClient] = await Promise.all([
    page.waitForResponse((r) => (r.headers().location ?? '').startsWith(REDIRECT)),
    page.click('button[value=allow]'),
  ]);
  t.truthy(new URL(toClient.headers().location as string).searchParams.get('code'));
  t.true(gh.logs.some((l) => l.audit === 'consent.granted'));
});

test("each check on its own: no interaction cookie, cross-site Sec-Fetch-Site, foreign Origin, another interaction's cookie", async (t) => {
  const gh = await startGatehouse(t, { clients: CLIENTS });
  const jar = new CookieJar();
  const start = await request(authUrl(gh.issuer), jar);
  const page = new URL(start.headers.get('location') as string, gh.issuer).href;
  await request(page, jar);
  const post = (url: string, headers: Record<string, string>, cookies = jar.header()) =>
    fetch(url, {
      method: 'POST',
      redirect: 'manual',
      headers: { ...FORM, accept: 'application/json', cookie: cookies, ...headers },
      body: 'username=demo&password=demo-password',
    });

  const noCookie = await post(`${page}/login`, { origin: gh.issuer }, '');
  t.is(noCookie.status, 400, 'a cross-site POST arrives without the Lax cookie');
  for (const site of ['cross-site', 'same-site']) {
    const r = await post(`${page}/login`, { 'sec-fetch-site': site });
    t.is(r.status, 403, site);
    t.is(((await r.json()) as { error: string }).error, 'invalid_request');
  }
  t.is((await post(`${page}/login`, { origin: 'https://evil.example' })).status, 403);
  t.is((await post(`${page}/login`, { origin: gh.issuer.replace('127.0.0.1', 'localhost') })).status, 403);

  // A second interaction: its id with the first one's cookie is refused.
  const other = new CookieJar();
  const second = await request(authUrl(gh.issuer), other);
  const secondPage = new URL(second.headers.get('location') as string, gh.issuer).href;
  t.is((await post(`${secondPage}/login`, { origin: gh.issuer })).status, 400);

  // The control: the same request, same-origin, with the right cookie, signs in.
  const ok = await post(`${page}/login`, { origin: gh.issuer, 'sec-fetch-site': 'same-origin' });
  t.is(ok.status, 303);
});
