/**
 * Every page in real Chromium, as a person meets it: desktop and phone width, English and German, light and dark.
 * Each page: screenshot (tests/artifacts/screenshots/pages/), axe-core with zero violations, no CSP violation or
 * failed sub-resource, `<html lang>` and heading in the page's language from its catalogue.
 */
import test, { type ExecutionContext } from 'ava';
import type { Page } from 'playwright-core';
import { fileChromium } from '../demo/chromium.ts';
import {
  authorizationUrl,
  axeViolations,
  catalogue,
  DESKTOP,
  inPage,
  PHONE,
  type Setup,
  screenshot,
  setup,
  watch,
} from './browser.ts';
import { defined } from '../helpers/defined.ts';

const browser = fileChromium(test);

interface Variant {
  language: 'en' | 'de';
  viewport: { width: number; height: number };
  name: string;
  dark?: boolean;
}

const VARIANTS: Variant[] = [
  { language: 'en', viewport: DESKTOP, name: 'en-desktop' },
  { language: 'en', viewport: PHONE, name: 'en-phone' },
  { language: 'de', viewport: DESKTOP, name: 'de-desktop' },
  { language: 'de', viewport: PHONE, name: 'de-phone' },
  { language: 'en', viewport: DESKTOP, name: 'en-desktop-dark', dark: true },
  { language: 'de', viewport: PHONE, name: 'de-phone-dark', dark: true },
];

/** `primary`: whether the page has a primary action (a button, or an error page's way back). */
async function check(
  t: ExecutionContext,
  page: Page,
  problems: string[],
  v: Variant,
  name: string,
  heading: string,
  primary: boolean,
): Promise<void> {
  await page.waitForLoadState('load');
  await screenshot(page, v.name, name);
  t.is(await page.getAttribute('html', 'lang'), v.language, `${name}: <html lang>`);
  t.is((await page.textContent('h1'))?.trim(), heading, `${name}: heading`);
  t.deepEqual(await axeViolations(page), [], `${name}: axe-core violations`);
  t.deepEqual(problems.splice(0), [], `${name}: CSP violations or failed sub-resources`);
  // The stylesheet applied: the primary action spans the card's content box.
  const widths = await inPage<[number, number] | null>(
    page,
    `(() => {
      const primary = document.querySelector('.primary');
      const card = document.querySelector('main');
      if (!primary || !card) return null;
      const style = getComputedStyle(card);
      return [primary.getBoundingClientRect().width, card.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight)];
    })()`,
  );
  t.is(widths !== null, primary, `${name}: primary action present or absent as expected`);
  t.true(widths === null || Math.abs(widths[0] - widths[1]) < 1, `${name}: full-width primary action ${widths}`);
  // Nothing is wider than the screen (the phone layout keeps the card inside it).
  t.true(
    await inPage<boolean>(page, 'document.documentElement.scrollWidth <= window.innerWidth'),
    `${name}: no horizontal overflow`,
  );
}

async function walk(t: ExecutionContext, s: Setup, v: Variant): Promise<void> {
  const m = catalogue(v.language);
  const message = (key: string) => defined(m[key], `the message ${key}`);
  const context = await browser.newContext({
    viewport: v.viewport,
    colorScheme: v.dark ? 'dark' : 'light',
    extraHTTPHeaders: { 'accept-language': v.language },
  });
  t.teardown(() => context.close());
  const page = await context.newPage();
  const problems = watch(page);

  await page.goto(authorizationUrl(s));
  await check(t, page, problems, v, 'login', message('login.title'), true);

  await page.fill('#username', 'demo');
  await page.fill('#password', 'not-the-password');
  await Promise.all([page.waitForURL(/\/login$/), page.click('button.primary')]);
  await check(t, page, problems, v, 'login-failed', message('login.title'), true);

  await page.fill('#password', 'demo-password');
  await Promise.all([page.waitForSelector('button[value=allow]'), page.click('button.primary')]);
  await check(t, page, problems, v, 'consent', message('consent.title'), true);

  await Promise.all([page.waitForURL((u) => u.href.startsWith(s.redirectUri)), page.click('button[value=allow]')]);
  await page.goBack();
  await check(t, page, problems, v, 'error-back-button', message('error.expired.heading'), false);

  // The account center, with the application just allowed among its connected applications.
  await page.goto(`${s.gh.issuer}/account`);
  await check(t, page, problems, v, 'account', message('account.title'), true);
  t.is(await page.locator('li.app').count(), 1, 'account: the application just allowed is listed');
  await page.goto(`${s.gh.issuer}/account/forgot`);
  await check(t, page, problems, v, 'account-forgot', message('account.forgot.title'), true);

  await page.goto(`${s.gh.issuer}/session/end?client_id=reader`);
  await check(t, page, problems, v, 'logout', message('logout.title'), true);

  await Promise.all([page.waitForURL(/\/session\/end\/success/), page.click('button[name=logout][value=yes]')]);
  await check(t, page, problems, v, 'logged-out', message('loggedOut.title'), false);

  await page.goto(
    `${s.gh.issuer}/auth?client_id=nobody&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(s.redirectUri)}`,
  );
  await check(t, page, problems, v, 'error-invalid-client', message('error.unknownClient.heading'), false);

  await page.goto(authorizationUrl(s, { redirect_uri: 'https://evil.example/cb' }));
  await check(t, page, problems, v, 'error-redirect-uri', message('error.badRedirect.heading'), true);

  await page.goto(`${s.gh.issuer}/no-such-page`);
  await check(t, page, problems, v, 'error-not-found', message('error.notFound.heading'), false);
}

for (const v of VARIANTS) {
  test(`every page, ${v.name}: screenshots, axe-core clean, no CSP violation, in its language`, async (t) => {
    await walk(t, await setup(t), v);
  });
}
