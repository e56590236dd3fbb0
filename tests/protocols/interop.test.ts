/**
 * What third-party libraries found: oidc-client-ts (the most used browser OIDC library) revoking tokens in
 * Chromium, the revocation answer's headers, and the discovery fields of RFC 8414 2 for introspection and
 * revocation. The page is served by a local site under a strict CSP, with oidc-client-ts from node_modules.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import test from 'ava';
import { testChromium } from '../demo/chromium.ts';
import { startGatehouse } from '../helpers/gatehouse.ts';
import { watch } from '../pages/browser.ts';

// The package exports no browser bundle path, so it is found next to its package.json.
const packageDir = dirname(createRequire(import.meta.url).resolve('oidc-client-ts/package.json'));
const library = readFileSync(`${packageDir}/dist/browser/oidc-client-ts.min.js`, 'utf8');

test('discovery names the client authentication methods of introspection and revocation', async (t) => {
  const gh = await startGatehouse(t);
  const meta = (await (await fetch(`${gh.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  t.true(Array.isArray(meta.token_endpoint_auth_methods_supported));
  t.deepEqual(meta.introspection_endpoint_auth_methods_supported, meta.token_endpoint_auth_methods_supported);
  t.deepEqual(meta.revocation_endpoint_auth_methods_supported, meta.token_endpoint_auth_methods_supported);
});

test('a successful revocation is 200 with an empty body and no Content-Type', async (t) => {
  const secret = 'svc-secret-0123456789abcdef0123456789abcd';
  const gh = await startGatehouse(t, {
    clients: [
      {
        client_id: 'svc',
        client_secret: secret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
      },
    ],
  });
  const basic = `Basic ${Buffer.from(`svc:${secret}`).toString('base64')}`;
  const form = { 'content-type': 'application/x-www-form-urlencoded', authorization: basic };
  const token = (await (
    await fetch(`${gh.issuer}/token`, { method: 'POST', headers: form, body: 'grant_type=client_credentials' })
  ).json()) as { access_token: string };
  const res = await fetch(`${gh.issuer}/token/revocation`, {
    method: 'POST',
    headers: form,
    body: new URLSearchParams({ token: token.access_token }),
  });
  t.is(res.status, 200);
  t.is(res.headers.get('content-type'), null);
  t.is(await res.text(), '');
});

test('oidc-client-ts in Chromium signs in and revokes its tokens', async (t) => {
  const pages = new Map<string, string>();
  const site = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/oidc-client-ts.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(library);
      return;
    }
    const nonce = 'n0nce';
    res.writeHead(200, {
      'content-type': 'text/html',
      'content-security-policy': `default-src 'none'; script-src 'nonce-${nonce}'; connect-src ${issuer}`,
    });
    res.end(
      `<!DOCTYPE html><title>spa</title><p id="out"></p><script nonce="${nonce}" src="/oidc-client-ts.js"></script><script nonce="${nonce}">${pages.get(path) ?? ''}</script>`,
    );
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    site.closeAllConnections();
    site.close();
  });
  const origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  const gh = await startGatehouse(t, {
    clients: [
      {
        client_id: 'spa',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        redirect_uris: [`${origin}/cb`],
        first_party: true,
      },
    ],
  });
  const issuer = gh.issuer;
  const settings = JSON.stringify({
    authority: issuer,
    client_id: 'spa',
    redirect_uri: `${origin}/cb`,
    scope: 'openid offline_access',
    prompt: 'consent',
  });
  pages.set('/', `new oidc.UserManager(${settings}).signinRedirect();`);
  pages.set(
    '/cb',
    `const um = new oidc.UserManager(${settings});
     um.signinRedirectCallback()
       .then((user) => um.revokeTokens().then(() => 'revoked ' + (user.refresh_token ? 'with refresh token' : 'access token only')))
       .catch((e) => 'error: ' + e.message)
       .then((text) => { const out = document.getElementById('out'); out.textContent = text; out.dataset.done = 'yes'; });`,
  );

  const browser = await testChromium(t);
  const page = await browser.newPage();
  const problems = watch(page);
  await page.goto(`${origin}/`);
  await page.waitForSelector('#username');
  await page.fill('#username', 'demo');
  await page.fill('#password', 'demo-password');
  await Promise.all([page.waitForURL((u) => u.href.startsWith(`${origin}/cb`)), page.click('button.primary')]);
  await page.waitForSelector('#out[data-done]');
  t.is(await page.textContent('#out'), 'revoked with refresh token');
  t.deepEqual(problems, []);
});
