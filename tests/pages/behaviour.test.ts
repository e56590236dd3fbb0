/**
 * How the pages behave for a person in Chromium: keyboard-only sign-in, focus and messages after a failed sign-in,
 * the show-password toggle and the pages without JavaScript, the language from ui_locales and Accept-Language,
 * and the error pages' way back to the application.
 */
import test from 'ava';
import type { Browser } from 'playwright-core';
import { fileChromium } from '../demo/chromium.ts';
import { authorizationUrl, axeViolations, catalogue, DESKTOP, inPage, setup, watch } from './browser.ts';
import { defined } from '../helpers/defined.ts';

const browser = fileChromium(test);

async function newPage(t: import('ava').ExecutionContext, options: Parameters<Browser['newContext']>[0] = {}) {
  const context = await browser.newContext({ viewport: DESKTOP, ...options });
  t.teardown(() => context.close());
  return context.newPage();
}

const activeId = (page: import('playwright-core').Page) => inPage<string>(page, `document.activeElement?.id ?? ''`);

test('keyboard only: sign in and allow with Tab and Enter, and the client gets its code', async (t) => {
  const s = await setup(t);
  const page = await newPage(t);
  await page.goto(authorizationUrl(s));
  t.is(await activeId(page), 'username', 'the username field has the focus on arrival');
  await page.keyboard.type('demo');
  await page.keyboard.press('Tab');
  t.is(await activeId(page), 'password');
  await page.keyboard.type('demo-password');
  await Promise.all([page.waitForSelector('button[value=allow]'), page.keyboard.press('Enter')]);
  // Consent: the first Tab stop is Allow, the second Deny.
  await page.keyboard.press('Tab');
  t.is(await inPage(page, 'document.activeElement?.value'), 'allow');
  await Promise.all([page.waitForURL((u) => u.href.startsWith(s.redirectUri)), page.keyboard.press('Enter')]);
  const callback = new URL(page.url());
  t.truthy(callback.searchParams.get('code'));
  t.is(callback.searchParams.get('state'), 'st');
});

test('after a failed sign-in the password field has the focus, and both fields are invalid and described by the message', async (t) => {
  const s = await setup(t);
  const page = await newPage(t);
  await page.goto(authorizationUrl(s));
  t.is(await page.getAttribute('#username', 'autocapitalize'), 'none');
  t.is(await page.getAttribute('#username', 'spellcheck'), 'false');
  t.is(await page.getAttribute('#password', 'aria-invalid'), null, 'not invalid before a try');
  await page.fill('#username', 'demo');
  await page.fill('#password', 'wrong-password');
  await Promise.all([page.waitForURL(/\/login$/), page.click('button.primary')]);
  t.is(await activeId(page), 'password');
  t.is(await page.inputValue('#username'), 'demo', 'the username is kept');
  t.is(await page.inputValue('#password'), '', 'the password is not sent back');
  for (const field of ['#username', '#password']) {
    t.is(await page.getAttribute(field, 'aria-invalid'), 'true');
    const described = await page.getAttribute(field, 'aria-describedby');
    t.is(await page.getAttribute(`#${described}`, 'role'), 'alert');
    t.is((await page.textContent(`#${described}`))?.trim(), catalogue('en')['login.failed']);
  }
});

test('a username filled from login_hint sends the focus to the password field', async (t) => {
  const s = await setup(t);
  const page = await newPage(t);
  await page.goto(authorizationUrl(s, { login_hint: 'demo' }));
  t.is(await page.inputValue('#username'), 'demo');
  t.is(await activeId(page), 'password');
});

test('input borders have at least 3:1 contrast with the card, in light and dark mode', async (t) => {
  const s = await setup(t);
  for (const colorScheme of ['light', 'dark'] as const) {
    const page = await newPage(t, { colorScheme });
    await page.goto(authorizationUrl(s));
    const ratio = await inPage<number>(
      page,
      `(() => {
        const lum = (c) => {
          const [r, g, b] = c.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map((v) => {
            const x = Number(v) / 255;
            return x <= 0.04045 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
          });
          return 0.2126 * r + 0.7152 * g + 0.0722 * b;
        };
        const border = lum(getComputedStyle(document.querySelector('#password')).borderTopColor);
        const card = lum(getComputedStyle(document.querySelector('main')).backgroundColor);
        return (Math.max(border, card) + 0.05) / (Math.min(border, card) + 0.05);
      })()`,
    );
    t.true(ratio >= 3, `${colorScheme}: ${ratio.toFixed(2)}:1`);
  }
});

test('show password: the toggle reveals and hides the password; without JavaScript it is absent and sign-in still works', async (t) => {
  const s = await setup(t);
  const page = await newPage(t);
  await page.goto(authorizationUrl(s));
  const toggle = page.locator('button[data-toggles-password]');
  await page.fill('#password', 'secret-words');
  t.is(await toggle.getAttribute('aria-pressed'), 'false');
  await toggle.click();
  t.is(await page.getAttribute('#password', 'type'), 'text');
  t.is(await toggle.getAttribute('aria-pressed'), 'true');
  await toggle.click();
  t.is(await page.getAttribute('#password', 'type'), 'password');
  t.is(await toggle.getAttribute('aria-pressed'), 'false');

  const noJs = await newPage(t, { javaScriptEnabled: false });
  const problems = watch(noJs);
  await noJs.goto(authorizationUrl(s));
  t.false(await noJs.locator('button[data-toggles-password]').isVisible(), 'no button that would do nothing');
  t.deepEqual(await axeViolations(page), []);
  await noJs.fill('#username', 'demo');
  await noJs.fill('#password', 'demo-password');
  await Promise.all([noJs.waitForSelector('button[value=allow]'), noJs.click('button.primary')]);
  await Promise.all([noJs.waitForURL((u) => u.href.startsWith(s.redirectUri)), noJs.click('button[value=allow]')]);
  t.truthy(new URL(noJs.url()).searchParams.get('code'));
  t.deepEqual(problems, []);
});

test('language: ui_locales wins over Accept-Language, then Accept-Language by preference, then the default', async (t) => {
  const s = await setup(t);
  const de = catalogue('de');
  const en = catalogue('en');
  const heading = async (acceptLanguage: string, params: Record<string, string>) => {
    const page = await newPage(t, { extraHTTPHeaders: { 'accept-language': acceptLanguage } });
    await page.goto(authorizationUrl(s, params));
    return { lang: await page.getAttribute('html', 'lang'), h1: (await page.textContent('h1'))?.trim(), page };
  };
  t.deepEqual((({ lang, h1 }) => ({ lang, h1 }))(await heading('en-US,en;q=0.9', { ui_locales: 'de' })), {
    lang: 'de',
    h1: de['login.title'],
  });
  t.deepEqual((({ lang, h1 }) => ({ lang, h1 }))(await heading('de-DE,de;q=0.9', { ui_locales: 'fr-CA en' })), {
    lang: 'en',
    h1: en['login.title'],
  });
  t.deepEqual((({ lang, h1 }) => ({ lang, h1 }))(await heading('fr;q=1, de-CH;q=0.8, en;q=0.5', {})), {
    lang: 'de',
    h1: de['login.title'],
  });
  t.deepEqual((({ lang, h1 }) => ({ lang, h1 }))(await heading('de;q=0, fr', {})), {
    lang: 'en',
    h1: en['login.title'],
  });

  // The language of the request carries through the flow: the failed sign-in and the consent page stay German.
  const { page } = await heading('en', { ui_locales: 'de-AT' });
  await page.fill('#username', 'demo');
  await page.fill('#password', 'wrong-password');
  await Promise.all([page.waitForURL(/\/login$/), page.click('button.primary')]);
  t.is((await page.textContent('[role=alert]'))?.trim(), de['login.failed']);
  await page.fill('#password', 'demo-password');
  await Promise.all([page.waitForSelector('button[value=allow]'), page.click('button.primary')]);
  t.is((await page.textContent('h1'))?.trim(), de['consent.title']);
  t.regex((await page.textContent('.scopes')) ?? '', new RegExp(defined(de['scope.email'], "de['scope.email']")));
});

test('language: the configured default (DEFAULT_LANGUAGE) applies when nothing matches', async (t) => {
  const s = await setup(t, {}, { DEFAULT_LANGUAGE: 'de' });
  const page = await newPage(t, { extraHTTPHeaders: { 'accept-language': 'fr, es;q=0.5' } });
  await page.goto(authorizationUrl(s));
  t.is(await page.getAttribute('html', 'lang'), 'de');
  await page.goto(`${s.gh.issuer}/nowhere`);
  t.is((await page.textContent('h1'))?.trim(), catalogue('de')['error.notFound.heading']);
});

test('error pages link back only to a registered client site, never to an address from the request', async (t) => {
  const s = await setup(t);
  const page = await newPage(t);
  // An unregistered redirect_uri of a registered client: the way back is the client's registered client_uri.
  await page.goto(authorizationUrl(s, { redirect_uri: 'https://evil.example/cb' }));
  t.is(await page.getAttribute('a.primary', 'href'), s.clientUri);
  t.is((await page.textContent('a.primary'))?.trim(), 'Back to Acme Reader');
  t.false((await page.content()).includes('href="https://evil.example'), 'no link to the address the request named');
  t.is(await page.textContent('.error-code'), 'invalid_redirect_uri', 'the protocol code in the small print');
  // An unknown client: nothing registered to go back to, so no link at all.
  await page.goto(
    `${s.gh.issuer}/auth?client_id=nobody&response_type=code&scope=openid&redirect_uri=https%3A%2F%2Fevil.example%2Fcb`,
  );
  t.is(await page.locator('a').count(), 0);
  t.is(await page.textContent('.error-code'), 'invalid_client');
});

test('back button or lost cookie: an interaction page without its cookie explains the page expired and links to the client', async (t) => {
  const s = await setup(t);
  const first = await newPage(t);
  await first.goto(authorizationUrl(s));
  const interaction = first.url();
  t.regex(interaction, /\/interaction\/[\w-]+$/);
  // Another browser (no interaction cookie) opens the same sign-in page: the record names the client.
  const other = await newPage(t, { extraHTTPHeaders: { 'accept-language': 'de' } });
  const res = await other.goto(interaction);
  t.is(res?.status(), 400);
  t.is((await other.textContent('h1'))?.trim(), catalogue('de')['error.expired.heading']);
  t.is(await other.getAttribute('a.primary', 'href'), s.clientUri);
  t.regex((await other.textContent('.fine-print')) ?? '', /interaction session id cookie not found/);
  // Once the flow is complete the record is gone: the page still explains, without a link.
  await first.fill('#username', 'demo');
  await first.fill('#password', 'demo-password');
  await Promise.all([first.waitForSelector('button[value=allow]'), first.click('button.primary')]);
  await Promise.all([first.waitForURL((u) => u.href.startsWith(s.redirectUri)), first.click('button[value=allow]')]);
  await first.goBack();
  t.is((await first.textContent('h1'))?.trim(), catalogue('en')['error.expired.heading']);
  t.deepEqual(await axeViolations(first), []);
});

test('axe-core in this set-up does report violations (the check can fail)', async (t) => {
  const page = await newPage(t);
  await page.setContent('<html><body><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><input></body></html>');
  const ids = (await axeViolations(page)).map((v) => v.id);
  t.true(ids.includes('image-alt'), ids.join(', '));
  t.true(ids.includes('label'), ids.join(', '));
});
