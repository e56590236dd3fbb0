/**
 * Branding and the pages' static files: BRAND_NAME, BRAND_LOGO_URL and BRAND_ACCENT reach the pages under the
 * unchanged nonce CSP, bad values stop the start with the key named, and the stylesheet, script and favicon are
 * served, cacheable, with no 404.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { loadConfig } from '../../src/config/load.ts';
import { testChromium } from '../demo/chromium.ts';
import { startGatehouse } from '../helpers/gatehouse.ts';
import { authorizationUrl, axeViolations, DESKTOP, inPage, screenshot, setup, watch } from './browser.ts';
import { capture, defined } from '../helpers/defined.ts';

const LOGO =
  '<svg xmlns="http://www.w3.org/2000/svg" width="96" height="32" viewBox="0 0 96 32"><rect width="96" height="32" rx="6" fill="#7a1fa2"/></svg>';

test('brand name, logo and accent appear on the pages; the logo loads under the CSP, which allows only its origin', async (t) => {
  const logoServer = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'image/svg+xml' });
    res.end(LOGO);
  });
  await new Promise<void>((resolve) => logoServer.listen(0, '127.0.0.1', resolve));
  t.teardown(() => logoServer.close());
  const logoUrl = `http://127.0.0.1:${(logoServer.address() as AddressInfo).port}/logo.svg`;
  const s = await setup(t, {}, { BRAND_NAME: 'Acme ID', BRAND_LOGO_URL: logoUrl, BRAND_ACCENT: '#7A1FA2' });

  const browser = await testChromium(t);
  const page = await (await browser.newContext({ viewport: DESKTOP })).newPage();
  const problems = watch(page);
  const res = await page.goto(authorizationUrl(s));
  await page.waitForLoadState('load');
  await screenshot(page, 'branded', 'login');
  t.is(await page.title(), 'Sign in · Acme ID');
  t.is((await page.textContent('header'))?.trim(), 'Acme ID');
  t.is(await inPage(page, `document.querySelector('header img').naturalWidth`), 96, 'the logo loaded');
  t.is(await inPage(page, `getComputedStyle(document.querySelector('.primary')).backgroundColor`), 'rgb(122, 31, 162)');
  const csp = (await res?.allHeaders())?.['content-security-policy'] ?? '';
  t.regex(csp, new RegExp(`img-src 'self' ${new URL(logoUrl).origin};`));
  t.notRegex(csp, /unsafe-inline|unsafe-eval|\*/);
  t.deepEqual(await axeViolations(page), []);
  t.deepEqual(problems, []);
});

test('stylesheet, script and favicon: served with their types, immutable under hashed names, no 404 for /favicon.ico', async (t) => {
  const gh = await startGatehouse(t);
  const error = await fetch(`${gh.issuer}/nowhere`, { headers: { accept: 'text/html' } });
  const html = await error.text();
  const nonce = /'nonce-([^']+)'/.exec(error.headers.get('content-security-policy') ?? '')?.[1];
  const stylesheet = /<link rel="stylesheet" href="([^"]+)" nonce="([^"]+)">/.exec(html);
  t.is(stylesheet?.[2], nonce, 'the stylesheet carries the response nonce');
  t.notRegex(html, /<style|style="/, 'no inline style at all');
  const icon = capture(/<link rel="icon" href="([^"]+)"/, html);
  for (const [path, type] of [
    [defined(stylesheet?.[1], 'stylesheet?.[1]'), 'text/css; charset=utf-8'],
    [icon, 'image/svg+xml'],
  ] as const) {
    t.regex(path, /^\/assets\/[a-z]+\.[0-9a-f]{12}\.(css|svg|js)$/);
    const res = await fetch(`${gh.issuer}${path}`);
    t.is(res.status, 200, path);
    t.is(res.headers.get('content-type'), type);
    t.is(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  }
  const favicon = await fetch(`${gh.issuer}/favicon.ico`);
  t.is(favicon.status, 200);
  t.is(favicon.headers.get('content-type'), 'image/svg+xml');
  t.is(favicon.headers.get('cache-control'), 'public, max-age=86400');
  t.regex(await favicon.text(), /^<svg [^>]*>.*#2f63d8/);
  const stale = await fetch(`${gh.issuer}/assets/pages.000000000000.css`, { headers: { accept: 'application/json' } });
  t.is(stale.status, 404);
  const post = await fetch(`${gh.issuer}${stylesheet?.[1]}`, {
    method: 'POST',
    headers: { accept: 'application/json' },
  });
  t.is(post.status, 404);
});

test('a new accent gives the stylesheet a new name, so no browser keeps the old one', async (t) => {
  const name = async (env: NodeJS.ProcessEnv) => {
    const gh = await startGatehouse(t, {}, env);
    const html = await (await fetch(`${gh.issuer}/nowhere`, { headers: { accept: 'text/html' } })).text();
    return /<link rel="stylesheet" href="([^"]+)"/.exec(html)?.[1];
  };
  const [a, b] = [await name({}), await name({ BRAND_ACCENT: '#0b6e4f' })];
  t.truthy(a);
  t.not(a, b);
});

test('bad brand settings stop the start with the key and the reason', (t) => {
  const bad = (env: NodeJS.ProcessEnv) => t.throws(() => loadConfig({ env }), { code: 'CONFIG_INVALID' })?.message;
  t.regex(bad({ BRAND_ACCENT: 'red' }) ?? '', /^brand\.accent \(BRAND_ACCENT\): must be a colour written #rrggbb/);
  t.regex(bad({ BRAND_ACCENT: '#2f63d8;}body{display:none' }) ?? '', /BRAND_ACCENT\): must be a colour/);
  t.regex(bad({ BRAND_ACCENT: '#fff' }) ?? '', /BRAND_ACCENT\): must be a colour/);
  t.regex(
    bad({ BRAND_ACCENT: '#ffcc00' }) ?? '',
    /BRAND_ACCENT\): #ffcc00 has a contrast of 1\.\d\d:1 with the white text of buttons; choose a darker colour \(at least 4\.5:1\)/,
  );
  t.regex(
    bad({ BRAND_LOGO_URL: 'javascript:alert(1)' }) ?? '',
    /^brand\.logoUrl \(BRAND_LOGO_URL\): must be an absolute http\(s\) URL/,
  );
  t.regex(bad({ BRAND_LOGO_URL: '/logo.png' }) ?? '', /BRAND_LOGO_URL\): must be an absolute http\(s\) URL/);
  t.regex(
    bad({ BRAND_LOGO_URL: 'https://user:pw@cdn.example/logo.png' }) ?? '',
    /BRAND_LOGO_URL\): must not carry credentials/,
  );
  t.regex(
    bad({ ISSUER: 'https://id.example', BRAND_LOGO_URL: 'http://cdn.example/logo.png' }) ?? '',
    /BRAND_LOGO_URL\): must be https when the issuer is https/,
  );
  t.regex(bad({ DEFAULT_LANGUAGE: 'fr' }) ?? '', /^pages\.defaultLanguage \(DEFAULT_LANGUAGE\): must be one of en, de/);
  t.is(
    loadConfig({
      env: { BRAND_ACCENT: '#0B6E4F', BRAND_LOGO_URL: 'https://cdn.example/logo.svg', DEFAULT_LANGUAGE: 'de' },
    }).pages.defaultLanguage,
    'de',
  );
});
