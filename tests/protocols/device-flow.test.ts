/**
 * Device authorization grant (RFC 8628) end to end: a device (openid-client) asks for a code, a person enters it
 * at /device in Chromium, signs in and consents, and the device's polling ends with tokens. Also: a denied code,
 * an expired code, `slow_down` for a device that polls too fast, the per-IP limit on code entry, and a client
 * without the grant type refused.
 */
import test, { type ExecutionContext } from 'ava';
import * as oidc from 'openid-client';
import type { Page } from 'playwright-core';
import { fileChromium } from '../demo/chromium.ts';
import { startGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';
import { axeViolations, catalogue, watch } from '../pages/browser.ts';
import { discoverClient } from '../helpers/browserless-login.ts';

const GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const USER_CODE = /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/;
const en = catalogue('en');

const browser = fileChromium(test);

const TV = {
  client_id: 'tv',
  client_name: 'Living Room TV',
  token_endpoint_auth_method: 'none',
  grant_types: [GRANT, 'refresh_token'],
  response_types: [],
  redirect_uris: [],
};

async function start(
  t: ExecutionContext,
  overrides: Record<string, unknown> = {},
): Promise<{ gh: TestGatehouse; device: oidc.Configuration }> {
  const gh = await startGatehouse(t, {
    clients: [
      TV,
      {
        client_id: 'web',
        client_secret: 'web-secret-0123456789abcdef0123456789ab',
        redirect_uris: ['http://127.0.0.1/cb'],
      },
    ],
    'deviceFlow.pollIntervalSeconds': 1,
    ...overrides,
  });
  const device = await discoverClient(gh.issuer, 'tv');
  return { gh, device };
}

async function newPage(t: ExecutionContext): Promise<Page> {
  const context = await browser.newContext();
  t.teardown(() => context.close());
  return context.newPage();
}

async function poll(gh: TestGatehouse, deviceCode: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${gh.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: GRANT, device_code: deviceCode, client_id: 'tv' }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Enters `code` at /device the way a person types it (lower case, without the dash) and continues. */
async function enterCode(page: Page, verificationUri: string, code: string): Promise<void> {
  await page.goto(verificationUri);
  await page.fill('#user_code', code.replace('-', '').toLowerCase());
  await Promise.all([page.waitForLoadState('load'), page.click('button.primary')]);
}

test('device flow: code entered in the browser, sign-in and consent, polling ends with tokens', async (t) => {
  const { gh, device } = await start(t);
  const meta = device.serverMetadata();
  t.is(meta.device_authorization_endpoint, `${gh.issuer}/device/auth`);
  t.true(meta.grant_types_supported?.includes(GRANT));

  const auth = await oidc.initiateDeviceAuthorization(device, { scope: 'openid profile offline_access' });
  t.regex(auth.user_code, USER_CODE);
  t.is(auth.verification_uri, `${gh.issuer}/device`);
  t.is(auth.verification_uri_complete, `${gh.issuer}/device?user_code=${auth.user_code}`);
  t.is(auth.interval, 1);

  t.deepEqual((await poll(gh, auth.device_code)).body.error, 'authorization_pending');

  const page = await newPage(t);
  const problems = watch(page);
  await enterCode(page, auth.verification_uri, auth.user_code);
  t.is((await page.textContent('h1')) ?? '', en['deviceConfirm.title'] ?? 'missing message');
  t.true((await page.textContent('.lead'))?.includes('Living Room TV'), 'the confirmation names the client');
  t.true((await page.content()).includes(auth.user_code), 'and shows the code to compare');
  t.deepEqual(
    (await axeViolations(page)).filter((v) => v.impact === 'serious' || v.impact === 'critical'),
    [],
  );
  await Promise.all([page.waitForSelector('#username'), page.click('button.primary')]);
  await page.fill('#username', 'demo');
  await page.fill('#password', 'demo-password');
  await Promise.all([page.waitForSelector('button[value=allow]'), page.click('button.primary')]);
  await Promise.all([page.waitForSelector(`text=${en['deviceDone.title']}`), page.click('button[value=allow]')]);
  t.true((await page.textContent('main'))?.includes('Living Room TV'));
  t.deepEqual(problems, []);

  const tokens = await oidc.pollDeviceAuthorizationGrant(device, auth);
  t.truthy(tokens.access_token);
  t.truthy(tokens.refresh_token, 'offline_access with consent gives a refresh token');
  t.is(tokens.claims()?.sub, (await gh.gatehouse.store.accounts.findByUsername('demo'))?.id);
});

test('verification_uri_complete fills the code: the person only confirms', async (t) => {
  const { device } = await start(t);
  const auth = await oidc.initiateDeviceAuthorization(device, { scope: 'openid' });
  const page = await newPage(t);
  const problems = watch(page);
  await page.goto(String(auth.verification_uri_complete));
  await page.waitForSelector(`text=${en['deviceConfirm.title']}`);
  t.true((await page.content()).includes(auth.user_code));
  t.deepEqual(problems, [], 'the auto-submitting page runs under the CSP');
});

test('a person who cancels denies the device: polling answers access_denied', async (t) => {
  const { gh, device } = await start(t);
  const auth = await oidc.initiateDeviceAuthorization(device, { scope: 'openid' });
  const page = await newPage(t);
  await enterCode(page, auth.verification_uri, auth.user_code);
  await Promise.all([page.waitForSelector('[role=alert]'), page.click('button[name=abort]')]);
  t.is((await page.textContent('[role=alert]'))?.trim(), en['device.aborted']);
  t.is((await poll(gh, auth.device_code)).body.error, 'access_denied');
  await enterCode(page, auth.verification_uri, auth.user_code);
  t.is((await page.textContent('[role=alert]'))?.trim(), en['device.used'], 'a denied code cannot be used again');
});

test('a wrong code is refused on the page; an expired code says so, and polling answers expired_token', async (t) => {
  const { gh, device } = await start(t, { 'deviceFlow.codeTtlSeconds': 2 });
  const page = await newPage(t);
  await enterCode(page, `${gh.issuer}/device`, 'BCDF-GHJK');
  t.is((await page.textContent('[role=alert]'))?.trim(), en['device.notFound']);
  t.is(await page.getAttribute('#user_code', 'aria-invalid'), 'true');

  const auth = await oidc.initiateDeviceAuthorization(device, { scope: 'openid' });
  // Polled at the interval, as a device does, until the code's lifetime is over.
  let answer = await poll(gh, auth.device_code);
  while (answer.body.error === 'authorization_pending') {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    answer = await poll(gh, auth.device_code);
  }
  t.is(answer.body.error, 'expired_token');
  await enterCode(page, auth.verification_uri, auth.user_code);
  t.is((await page.textContent('[role=alert]'))?.trim(), en['device.expired']);
});

test('polling faster than the interval is answered slow_down', async (t) => {
  const { gh, device } = await start(t, { 'deviceFlow.pollIntervalSeconds': 5 });
  const auth = await oidc.initiateDeviceAuthorization(device, { scope: 'openid' });
  t.is(auth.interval, 5);
  t.is((await poll(gh, auth.device_code)).body.error, 'authorization_pending');
  const fast = await poll(gh, auth.device_code);
  t.is(fast.status, 400);
  t.is(fast.body.error, 'slow_down');
});

test('code entry is limited per IP', async (t) => {
  const { gh } = await start(t, { 'rateLimit.browserPerIp': 3 });
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) {
    const res = await fetch(`${gh.issuer}/device`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ user_code: 'BCDFGHJK', xsrf: 'x' }),
    });
    await res.arrayBuffer();
    statuses.push(res.status);
  }
  t.not(statuses[2], 429);
  t.is(statuses[3], 429);
});

test('a client that did not register the device grant cannot start it', async (t) => {
  const { gh } = await start(t);
  const res = await fetch(`${gh.issuer}/device/auth`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from('web:web-secret-0123456789abcdef0123456789ab').toString('base64')}`,
    },
    body: new URLSearchParams({ scope: 'openid' }),
  });
  t.is(res.status, 400);
  const body = (await res.json()) as { error: string; error_description: string };
  t.is(body.error, 'unauthorized_client');
});
