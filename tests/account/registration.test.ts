/**
 * Self-service sign-up (`account.registrationEnabled`): in real Chromium from the sign-in page (axe-checked,
 * screenshots), and over real HTTP as an attacker would probe it — a taken email address answers like a free one,
 * invalid input is a clear 400, the IP limit answers 429 — with mail through a real in-process SMTP server.
 */
import test from 'ava';
import { fileChromium } from '../demo/chromium.ts';
import { startGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';
import { axeViolations, DESKTOP, PHONE } from '../pages/browser.ts';
import { startSmtp } from '../helpers/smtp.ts';
import { capture } from '../helpers/defined.ts';

const SHOTS = 'tests/artifacts/screenshots/account';
const PASSWORD = 'correct horse battery staple';

const browser = fileChromium(test);

const smtp = startSmtp;

function register(
  gh: TestGatehouse,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${gh.issuer}/account/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: gh.issuer, ...headers },
    body: new URLSearchParams(fields).toString(),
  });
}

test('off by default: no page, no link on the sign-in page', async (t) => {
  const gh = await startGatehouse(t);
  t.is((await fetch(`${gh.issuer}/account/register`)).status, 404);
  t.is((await register(gh, { username: 'x', email: 'x@example.com', password: PASSWORD })).status, 404);
  const context = await browser.newContext();
  t.teardown(() => context.close());
  const page = await context.newPage();
  await page.goto(`${gh.issuer}/account`);
  t.is(await page.locator('a[href="/account/register"]').count(), 0);
});

test('sign-up from the sign-in page in Chromium: the account exists, its email unverified until the mailed link is followed', async (t) => {
  const mail = await smtp(t);
  const gh = await startGatehouse(t, { 'account.registrationEnabled': true, 'mail.smtpUrl': mail.url });
  const context = await browser.newContext();
  t.teardown(() => context.close());
  const page = await context.newPage();
  await page.goto(`${gh.issuer}/account`);
  await Promise.all([page.waitForURL(`${gh.issuer}/account/register`), page.click('a[href="/account/register"]')]);
  for (const [label, size] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ] as const) {
    await page.setViewportSize(size);
    await page.screenshot({ path: `${SHOTS}/register-${label}.png`, fullPage: true });
  }
  t.deepEqual(await axeViolations(page), []);
  await page.fill('#username', 'olivia');
  await page.fill('#email', 'olivia@example.com');
  await page.fill('#password', '1qaz2wsx3edc');
  await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.click('button[type=submit]')]);
  t.is(await page.locator('#register-error').count(), 1, 'a common password is refused');
  t.is(await page.inputValue('#username'), 'olivia', 'what was typed is kept');
  await page.screenshot({ path: `${SHOTS}/register-error-desktop.png`, fullPage: true });
  t.deepEqual(await axeViolations(page), []);
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.click('button[type=submit]')]);
  t.regex((await page.locator('h1').textContent()) ?? '', /Check your mail/);
  await page.screenshot({ path: `${SHOTS}/register-done-desktop.png`, fullPage: true });

  const account = await gh.gatehouse.accounts.find('olivia');
  t.is(account.email, 'olivia@example.com');
  t.false(account.emailVerified);
  const raw = await mail.next();
  t.regex(raw, /To: olivia@example.com/);
  const link = capture(/(http:\/\/127\.0\.0\.1:\d+\/account\/verify\/[A-Za-z0-9_-]{43})/, raw);
  await page.goto(link);
  await page.screenshot({ path: `${SHOTS}/verify-desktop.png`, fullPage: true });
  t.deepEqual(await axeViolations(page), []);
  await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.click('button[type=submit]')]);
  t.regex((await page.locator('h1').textContent()) ?? '', /Email address verified/);
  t.true((await gh.gatehouse.accounts.find('olivia')).emailVerified);
  t.truthy((await gh.gatehouse.accounts.authenticate('olivia', PASSWORD)).account, 'the new account signs in');
  t.true(gh.logs.some((l) => l.audit === 'account.registered'));
  t.false(JSON.stringify(gh.logs).includes(PASSWORD));
});

test('a taken email answers like a free one (no account made, the owner is told); bad input is a clear 400; the IP limit answers 429', async (t) => {
  const mail = await smtp(t);
  const gh = await startGatehouse(t, { 'account.registrationEnabled': true, 'mail.smtpUrl': mail.url });
  await gh.gatehouse.accounts.create({
    username: 'paul',
    password: PASSWORD,
    email: 'paul@example.com',
    emailVerified: true,
  });
  const normalise = async (res: Response) => ({
    status: res.status,
    body: (await res.text()).replace(/nonce="[^"]+"/g, ''),
  });

  const free = await normalise(
    await register(gh, { username: 'quinn', email: 'quinn@example.com', password: PASSWORD }),
  );
  const taken = await normalise(
    await register(gh, { username: 'rose', email: 'PAUL@example.com', password: PASSWORD }),
  );
  t.is(free.status, 200);
  t.deepEqual(taken, free, 'the same answer, byte for byte');
  await t.throwsAsync(gh.gatehouse.accounts.find('rose'), undefined, 'no account was made for a taken address');
  const mails = [await mail.next(), await mail.next()];
  t.true(mails.some((m) => /To: quinn@example.com/.test(m) && /\/account\/verify\//.test(m)));
  t.true(
    mails.some((m) => /To: paul@example.com/.test(m) && /already belongs to an account/.test(m)),
    'the owner is told',
  );
  t.true((await gh.gatehouse.accounts.find('paul')).emailVerified, "the owner's account is untouched");

  // Invalid input: the same 400 with a taken or a free address.
  for (const email of ['paul@example.com', 'new@example.com']) {
    t.is((await register(gh, { username: 'bad name!', email, password: PASSWORD })).status, 400);
    t.is((await register(gh, { username: 'sam', email, password: 'short' })).status, 400);
    t.is((await register(gh, { username: 'quinn', email, password: PASSWORD })).status, 400, 'username taken');
  }
  t.is((await register(gh, { username: 'sam', email: 'not an address', password: PASSWORD })).status, 400);
  t.is((await register(gh, { username: 'sam', email: 'sam@example.com', password: 'x'.repeat(2000) })).status, 400);
  t.is(
    (
      await register(
        gh,
        { username: 'sam', email: 'sam@example.com', password: PASSWORD },
        { origin: 'https://evil.example' },
      )
    ).status,
    403,
  );
  // Ten sign-up requests per IP per hour: this is the eleventh.
  const limited = await register(gh, { username: 'tina', email: 'tina@example.com', password: PASSWORD });
  t.is(limited.status, 429);
  t.truthy(limited.headers.get('retry-after'));
  await t.throwsAsync(gh.gatehouse.accounts.find('tina'));
});
