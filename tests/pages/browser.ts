/**
 * What the page tests share: a Gatehouse with one third-party client whose site is a real local HTTP server, and
 * the checks every page gets in Chromium — axe-core, CSP violations, failed sub-resources, screenshots.
 *
 * axe-core is evaluated through the DevTools protocol (page.evaluate of its source), which the page's CSP does not
 * govern: the production CSP stays as it is, and the test sees the page exactly as users do.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import type { ExecutionContext } from 'ava';
import * as oidc from 'openid-client';
import type { Page } from 'playwright-core';
import { startGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';
import { discoverClient } from '../helpers/browserless-login.ts';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export const SCREENSHOTS = 'tests/artifacts/screenshots/pages';
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };
export const CLIENT_SECRET = 'reader-secret-0123456789abcdef0123456789abcdef';

export interface Site {
  origin: string;
  close(): void;
}

/** A stand-in for the client's web site: answers every path with a small page. */
export async function clientSite(t: ExecutionContext): Promise<Site> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!DOCTYPE html><title>Acme Reader</title><p>Acme Reader</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = () => {
    server.closeAllConnections();
    server.close();
  };
  t.teardown(close);
  return { origin, close };
}

export interface Setup {
  gh: TestGatehouse;
  site: Site;
  config: oidc.Configuration;
  /** The client's registered home page (client_uri). */
  clientUri: string;
  redirectUri: string;
}

export async function setup(
  t: ExecutionContext,
  overrides: Record<string, unknown> = {},
  env: NodeJS.ProcessEnv = {},
): Promise<Setup> {
  const site = await clientSite(t);
  const redirectUri = `${site.origin}/cb`;
  const clientUri = `${site.origin}/home`;
  const gh = await startGatehouse(
    t,
    {
      clients: [
        {
          client_id: 'reader',
          client_name: 'Acme Reader',
          client_uri: clientUri,
          client_secret: CLIENT_SECRET,
          redirect_uris: [redirectUri],
          post_logout_redirect_uris: [`${site.origin}/bye`],
        },
      ],
      ...overrides,
    },
    env,
  );
  const config = await discoverClient(gh.issuer, 'reader', CLIENT_SECRET);
  return { gh, site, config, clientUri, redirectUri };
}

export function authorizationUrl(s: Setup, params: Record<string, string> = {}): string {
  return oidc.buildAuthorizationUrl(s.config, {
    redirect_uri: s.redirectUri,
    scope: 'openid email profile',
    state: 'st',
    ...params,
  }).href;
}

/**
 * Evaluates a script expression in the page. The tests are type-checked without the DOM library (the server code
 * must not see browser globals), so what runs in the page is written as a string.
 */
export function inPage<T>(page: Page, expression: string): Promise<T> {
  return page.evaluate(expression) as Promise<T>;
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource);
  return inPage<AxeViolation[]>(
    page,
    `axe.run(document).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => JSON.stringify(n.target)) })))`,
  );
}

/** Everything on a page that should not happen: CSP violations, console errors, sub-resources that failed. */
export function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (msg) => {
    // An error page's own 4xx status is logged as "Failed to load resource"; failed sub-resources are caught below.
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource'))
      problems.push(`console: ${msg.text()}`);
  });
  // net::ERR_ABORTED is the page cancelling its own request (a favicon still loading when a form submit navigates
  // away): no answer of the server's. Every other failure counts; failed answers are caught below by status.
  page.on('requestfailed', (req) => {
    const error = req.failure()?.errorText;
    if (error !== 'net::ERR_ABORTED') problems.push(`failed: ${req.url()} ${error}`);
  });
  page.on('response', (res) => {
    if (res.request().resourceType() !== 'document' && res.status() >= 400)
      problems.push(`${res.status()}: ${res.url()}`);
  });
  return problems;
}

export async function screenshot(page: Page, dir: string, name: string): Promise<void> {
  mkdirSync(`${SCREENSHOTS}/${dir}`, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOTS}/${dir}/${name}.png`, fullPage: true });
}

export function catalogue(language: string): Record<string, string> {
  return JSON.parse(readFileSync(`views/i18n/${language}.json`, 'utf8')) as Record<string, string>;
}
