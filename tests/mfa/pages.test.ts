/**
 * Every second-factor page in real Chromium, desktop and phone: screenshots (tests/artifacts/screenshots/mfa/),
 * axe-core with zero violations, and no CSP violation, console error or failed sub-resource. The pages are reached
 * the way users reach them: /account/security (passkey added, authenticator app set up, recovery codes), the second
 * step of a sign-in, and the set-up inside a sign-in that asks for a second factor.
 */
import { mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import test from 'ava';
import { Secret, TOTP } from 'otpauth';
import type { Page } from 'playwright-core';
import { fileChromium } from '../demo/chromium.ts';
import { startGatehouse } from '../helpers/gatehouse.ts';
import { axeViolations, DESKTOP, PHONE, watch } from '../pages/browser.ts';
import { withAuthenticator } from './authenticator.ts';

const SHOTS = 'tests/artifacts/screenshots/mfa';
const PASSWORD = 'correct horse battery staple';

const browser = fileChromium(test);
test.before(() => {
  mkdirSync(SHOTS, { recursive: true });
});

/** Screenshots at both sizes, then axe-core on each. */
async function check(t: import('ava').ExecutionContext, page: Page, name: string): Promise<void> {
  for (const [label, size] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ] as const) {
    await page.setViewportSize(size);
    await page.screenshot({ path: `${SHOTS}/${name}-${label}.png`, fullPage: true });
    t.deepEqual(await axeViolations(page), [], `${name} (${label}): axe-core violations`);
  }
}

function codeFor(secret: string): string {
  return new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 }).generate();
}

/** Clicks a form's button and waits for the page its POST answers with to load. */
async function submit(page: Page, selector: string): Promise<void> {
  await Promise.all([page.waitForEvent('load'), page.click(selector)]);
}

test('the MFA pages: /account/security, authenticator set-up, recovery codes, the second step, set-up inside a sign-in', async (t) => {
  const gh = await startGatehouse(t, {}, {}, 'localhost');
  await gh.gatehouse.accounts.create({ username: 'alice', password: PASSWORD });
  await gh.gatehouse.accounts.create({ username: 'dave', password: PASSWORD });
  const context = await browser.newContext();
  t.teardown(() => context.close());
  const { page, cdp, authenticatorId } = await withAuthenticator(context);
  const problems = watch(page);

  await page.goto(`${gh.issuer}/account/security`);
  await page.fill('#username', 'alice');
  await page.fill('#password', PASSWORD);
  await Promise.all([
    page.waitForURL(`${gh.issuer}/account/security`),
    page.click('form[action$="/login"] button[type=submit]'),
  ]);
  await check(t, page, 'security-empty');

  await page.fill('#new-passkey-name', 'Work laptop');
  await submit(page, 'form[data-passkey="register"] button[type=submit]');
  t.is(await page.locator('li[data-passkey-id]').count(), 1);

  await submit(page, 'form[action="/account/security/totp/start"] button');
  await check(t, page, 'totp-setup');
  const secret = (await page.locator('code').textContent()) ?? '';
  await page.fill('#code', '000000');
  await submit(page, 'button[type=submit].primary');
  t.is(await page.locator('[role=alert]').count(), 1, 'a wrong first code is said so');
  await check(t, page, 'totp-setup-wrong-code');
  await page.fill('#code', codeFor(secret));
  await submit(page, 'button[type=submit].primary');
  t.is(await page.locator('[data-recovery-codes] li').count(), 10, 'recovery codes shown once');
  await check(t, page, 'security-recovery-codes');
  await page.goto(`${gh.issuer}/account/security`);
  t.is(await page.locator('[data-recovery-codes]').count(), 0, 'and not again');
  t.regex((await page.locator('main').textContent()) ?? '', /An authenticator app is set up/);
  await check(t, page, 'security-all-factors');
  await Promise.all([page.waitForURL(`${gh.issuer}/account`), page.click('a[href="/account"]')]);
  await Promise.all([page.waitForURL(`${gh.issuer}/account/security`), page.click('a[href="/account/security"]')]);

  // The second step of a sign-in with both factors; the key is out of the authenticator so autofill stays quiet.
  await page.goto(`${gh.issuer}/session/end`);
  await submit(page, 'button[name=logout]');
  await cdp.send('WebAuthn.clearCredentials', { authenticatorId });
  await page.goto(`${gh.issuer}/account/security`);
  await page.fill('#username', 'alice');
  await page.fill('#password', PASSWORD);
  await Promise.all([
    page.waitForURL(/\/interaction\/[^/]+$/),
    page.click('form[action$="/login"] button[type=submit]'),
  ]);
  await page.waitForSelector('form[data-passkey="authenticate"] button[type=submit]:not([hidden])');
  await check(t, page, 'second-factor');
  await page.fill('#code', '000000');
  await submit(page, 'form[action$="/mfa"] button[type=submit]');
  await check(t, page, 'second-factor-wrong-code');

  // A sign-in asking for a second factor (acr_values) by an account without one: set-up there, then its codes.
  const other = await browser.newContext();
  t.teardown(() => other.close());
  const fresh = await other.newPage();
  problems.push(...watch(fresh));
  const auth = new URL('/auth', gh.issuer);
  auth.search = new URLSearchParams({
    client_id: 'gatehouse-account',
    response_type: 'code',
    scope: 'openid',
    redirect_uri: `${gh.issuer}/account/callback`,
    code_challenge: randomBytes(32).toString('base64url'),
    code_challenge_method: 'S256',
    acr_values: 'urn:gatehouse:acr:mfa',
  }).toString();
  await fresh.goto(auth.href);
  await fresh.fill('#username', 'dave');
  await fresh.fill('#password', PASSWORD);
  await Promise.all([
    fresh.waitForURL(/\/interaction\/[^/]+$/),
    fresh.click('form[action$="/login"] button[type=submit]'),
  ]);
  await check(t, fresh, 'sign-in-totp-setup');
  await fresh.fill('#code', codeFor((await fresh.locator('code').textContent()) ?? ''));
  await submit(fresh, 'button[type=submit].primary');
  t.is(await fresh.locator('[data-recovery-codes] li').count(), 10);
  await check(t, fresh, 'sign-in-recovery-codes');
  await Promise.all([fresh.waitForURL(`${gh.issuer}/account`), fresh.click('a.button.primary')]);
  t.deepEqual(problems, []);
});
