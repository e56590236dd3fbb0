/**
 * The account center in real Chromium over real HTTP, with mail through a real in-process SMTP server.
 */
import test from 'ava';
import type { Page } from 'playwright-core';
import { startGatehouse } from '../helpers/gatehouse.ts';
import { fileChromium } from '../demo/chromium.ts';
import { axeViolations, DESKTOP, PHONE } from '../pages/browser.ts';
import { startSmtp } from '../helpers/smtp.ts';
import { defined } from '../helpers/defined.ts';

const SHOTS = 'tests/artifacts/screenshots/account';
const PASSWORD = 'correct horse battery staple';

const browser = fileChromium(test);

/** A real SMTP server on a free port; `next()` resolves with the next message's raw text. */
const smtp = startSmtp;

/** The link in a received mail (quoted-printable soft breaks undone). */
function linkIn(raw: string): string {
  const text = raw.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
  const match = /(http:\/\/127\.0\.0\.1:\d+\/account\/reset\/[A-Za-z0-9_-]{43})/.exec(text);
  if (!match) throw new Error('no reset link in the mail');
  return defined(match[1], 'match[1]');
}

async function signIn(page: Page, issuer: string, username: string, password: string): Promise<void> {
  await page.goto(`${issuer}/account`);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(`${issuer}/account`), page.click('button[type=submit].primary')]);
}

/** Clicks a form's button and waits for the page its POST answers with. */
async function submit(page: Page, selector: string): Promise<void> {
  await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.click(selector)]);
  await page.waitForLoadState('load');
}

async function shoot(page: Page, name: string): Promise<void> {
  for (const [label, size] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ] as const) {
    await page.setViewportSize(size);
    await page.screenshot({ path: `${SHOTS}/${name}-${label}.png`, fullPage: true });
  }
}

test('two devices: the other one is signed out, its next page load asks to sign in; password change signs out others', async (t) => {
  const gh = await startGatehouse(t);
  await gh.gatehouse.accounts.create({ username: 'alice', password: PASSWORD, email: 'alice@example.com' });
  const laptop = await browser.newContext({
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0',
  });
  const phone = await browser.newContext();
  t.teardown(() => laptop.close());
  t.teardown(() => phone.close());
  const a = await laptop.newPage();
  const b = await phone.newPage();
  await signIn(a, gh.issuer, 'alice', PASSWORD);
  await signIn(b, gh.issuer, 'alice', PASSWORD);
  await b.reload();
  t.is(await b.locator('li.device').count(), 2, 'two devices listed');
  t.is(await b.locator('li.device[aria-current="true"]').count(), 1, 'the current one is marked');
  t.regex((await b.locator('li.device:not([aria-current])').textContent()) ?? '', /Firefox 140/);
  const violations = (await axeViolations(b)).filter((v) => v.impact === 'serious' || v.impact === 'critical');
  t.deepEqual(violations, []);
  await shoot(b, 'account');

  await submit(b, 'li.device:not([aria-current]) button');
  t.regex((await b.locator('[role=status]').textContent()) ?? '', /signed out/);
  t.is(await b.locator('li.device').count(), 1);
  await a.goto(`${gh.issuer}/account`);
  t.true(a.url().includes('/interaction/'), 'the signed-out device is asked to sign in');
  t.true(gh.logs.some((l) => l.audit === 'account.sessions_ended' && l.reason === 'device_signout'));

  // Laptop signs in again; the phone changes the password with "sign out every other device" (on by default).
  await signIn(a, gh.issuer, 'alice', PASSWORD);
  await b.reload();
  t.is(await b.locator('li.device').count(), 2);
  await b.fill('#current', PASSWORD);
  await b.fill('#password', 'a brand new passphrase for alice');
  t.true(await b.isChecked('input[name=signOutOthers]'));
  await submit(b, 'form[action="/account/password"] button[type=submit]');
  t.regex((await b.locator('[role=status]').textContent()) ?? '', /password is changed/);
  t.is(await b.locator('li.device').count(), 1);
  await a.goto(`${gh.issuer}/account`);
  t.true(a.url().includes('/interaction/'));
  t.truthy((await gh.gatehouse.accounts.authenticate('alice', 'a brand new passphrase for alice')).account);
  const text = JSON.stringify(gh.logs);
  t.false(text.includes('a brand new passphrase'), 'no password in the logs');
});

test('forgotten password: from the sign-in page, a mailed single-use link sets a new password and ends every session', async (t) => {
  const mail = await smtp(t);
  const gh = await startGatehouse(t, { 'mail.smtpUrl': mail.url, 'mail.from': 'Gatehouse <no-reply@example.com>' });
  await gh.gatehouse.accounts.create({ username: 'bob', password: PASSWORD, email: 'bob@example.com' });
  const context = await browser.newContext();
  t.teardown(() => context.close());
  const page = await context.newPage();
  await page.goto(`${gh.issuer}/account`);
  await shoot(page, 'sign-in');
  await Promise.all([page.waitForURL(`${gh.issuer}/account/forgot`), page.click('a[href="/account/forgot"]')]);
  await shoot(page, 'forgot');
  await page.fill('#identifier', 'bob@example.com');
  await submit(page, 'button[type=submit]');
  t.regex((await page.locator('[role=status]').textContent()) ?? '', /on its way/);
  await shoot(page, 'forgot-sent');
  const raw = await mail.next();
  t.regex(raw, /To: bob@example.com/);
  const link = linkIn(raw);
  t.false(JSON.stringify(gh.logs).includes(link.split('/').pop() as string), 'the link is never logged');

  await page.goto(link);
  await shoot(page, 'reset');
  await page.fill('#password', '1qaz2wsx3edc');
  await submit(page, 'button[type=submit]');
  t.is(await page.locator('#reset-error').count(), 1, 'a common password is refused, the link stays usable');
  await page.fill('#password', 'an entirely new secret for bob');
  await submit(page, 'button[type=submit]');
  t.regex((await page.locator('h1').textContent()) ?? '', /Password set/);
  await shoot(page, 'reset-done');
  t.truthy((await gh.gatehouse.accounts.authenticate('bob', 'an entirely new secret for bob')).account);

  await page.goto(link);
  await page.fill('#password', 'yet another secret for bob');
  const [again] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST'),
    page.click('button[type=submit]'),
  ]);
  t.is(again.status(), 400, 'the link works once');
  t.truthy(
    (await gh.gatehouse.accounts.authenticate('bob', 'an entirely new secret for bob')).account,
    'the second use changed nothing',
  );
});
