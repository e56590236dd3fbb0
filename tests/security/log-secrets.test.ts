/**
 * Secrets never reach the logs: every flow is driven at log level `trace` (the most the server ever writes), with
 * successes and failures, and every log line is scanned for every password, client secret, code, token and
 * cookie value used — whole, and as any 16-character slice (a truncated token is still a leak).
 */
import { Writable } from 'node:stream';
import test from 'ava';
import * as oidc from 'openid-client';
import { findLeaks } from '../helpers/leaks.ts';
import { createLogger } from '../../src/http/logger.ts';
import { CookieJar, loginThroughPages, request } from '../helpers/browserless-login.ts';
import { startGatehouse } from '../helpers/gatehouse.ts';
import {
  API,
  basic,
  CLIENTS,
  codeFlow,
  FORM,
  flowSecrets,
  REDIRECT,
  knownSecrets,
  rp,
  SECRET_A,
  SECRET_B,
  WRONG_PASSWORD,
  WRONG_SECRET,
} from './fixtures.ts';
import { defined } from '../helpers/defined.ts';

test('no password, client secret, code, token or cookie appears in any log line', async (t) => {
  const gh = await startGatehouse(t, { clients: CLIENTS, logLevel: 'trace' });
  const secrets = knownSecrets();
  const a = await rp(gh.issuer, 'client-a');

  // A failed sign-in, then a successful one with consent; code exchange, refresh, userinfo, introspection.
  const failed = await t.throwsAsync(
    loginThroughPages(oidc.buildAuthorizationUrl(a, { redirect_uri: REDIRECT, scope: 'openid' }), gh.issuer, {
      username: 'demo',
      password: WRONG_PASSWORD,
    }),
  );
  t.is((failed as unknown as { status: number }).status, 401);
  const flow = await codeFlow(gh.issuer, a, 'openid profile email offline_access');
  const refreshed = await oidc.refreshTokenGrant(a, flow.tokens.refresh_token as string);
  Object.assign(secrets, flowSecrets(flow), {
    'rotated refresh token': refreshed.refresh_token as string,
  });
  await oidc.fetchUserInfo(a, refreshed.access_token, flow.tokens.claims()?.sub as string);
  await oidc.tokenIntrospection(a, refreshed.access_token);
  // The code again (reuse: audited), a token in a query string, a wrong client secret in Basic and in the body.
  await fetch(`${gh.issuer}/token`, {
    method: 'POST',
    headers: { ...FORM, authorization: basic('client-a', SECRET_A) },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: flow.code,
      redirect_uri: REDIRECT,
      code_verifier: flow.verifier,
    }),
  });
  await fetch(`${gh.issuer}/me?access_token=${encodeURIComponent(refreshed.access_token)}`, {
    headers: { authorization: `Bearer ${refreshed.access_token}` },
  });
  await fetch(`${gh.issuer}/token`, {
    method: 'POST',
    headers: { ...FORM, authorization: basic('client-a', WRONG_SECRET) },
    body: 'grant_type=client_credentials',
  });
  await fetch(`${gh.issuer}/token`, {
    method: 'POST',
    headers: FORM,
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'client-b', client_secret: WRONG_SECRET }),
  });
  // client_secret_post for real.
  for (let i = 0; i < 2; i++) {
    await fetch(`${gh.issuer}/token/introspection`, {
      method: 'POST',
      headers: FORM,
      body: new URLSearchParams({ client_id: 'client-b', client_secret: SECRET_B, token: refreshed.access_token }),
    });
  }
  const cc = await oidc.clientCredentialsGrant(a, { scope: 'api:read', resource: API }).catch(() => undefined);
  if (cc) secrets['client credentials token'] = cc.access_token;
  // Logout with the ID token as hint, and the session cookies sent along.
  const jar = new CookieJar();
  const { jar: signedIn } = await loginThroughPages(
    oidc.buildAuthorizationUrl(a, { redirect_uri: REDIRECT, scope: 'openid' }),
    gh.issuer,
    { username: 'demo', password: 'demo-password', jar },
  );
  for (const pair of signedIn.header().split('; ')) {
    const name = defined(pair.split('=')[0], "pair.split('=')[0]");
    // The interaction cookies' value is the interaction id, which is in the page URL (and so in the access log)
    // by design; what makes the cookie unforgeable is its `.sig`, which is checked like the others.
    if (name === '_interaction' || name === '_interaction_resume') continue;
    secrets[`cookie ${name}`] = pair.slice(pair.indexOf('=') + 1);
  }
  await request(
    `${gh.issuer}/session/end?id_token_hint=${encodeURIComponent(flow.tokens.id_token as string)}`,
    signedIn,
  );
  await oidc.tokenRevocation(a, refreshed.refresh_token as string);

  t.true(gh.logs.length > 30, `${gh.logs.length} log lines scanned`);
  t.true(Object.keys(secrets).filter((k) => k.startsWith('cookie')).length >= 2, 'session cookies were collected');
  t.deepEqual(findLeaks(gh.logs, secrets), []);
  // What is logged is still useful: the audit trail names clients and reasons.
  t.true(gh.logs.some((l) => l.audit === 'login.failure' && l.reason === 'bad_password'));
  t.true(gh.logs.some((l) => l.audit === 'authorization_code.reuse_detected'));
});

test('the logger redacts secret-named fields wherever our own log calls put them', (t) => {
  const lines: string[] = [];
  const log = createLogger('info', new Writable({ write: (chunk, _e, cb) => cb(void lines.push(String(chunk))) }));
  log.info(
    {
      password: 'p-1',
      client_secret: 'p-2',
      body: {
        password: 'p-3',
        client_secret: 'p-4',
        refresh_token: 'p-5',
        access_token: 'p-6',
        code: 'p-7',
        token: 'p-8',
      },
      req: { headers: { authorization: 'Basic p-9', cookie: '_session=p-10' } },
      headers: { authorization: 'Bearer p-11', cookie: 'p-12' },
    },
    'x',
  );
  t.is(lines.length, 1);
  t.notRegex(defined(lines[0], 'lines[0]'), /p-\d+/);
  t.regex(defined(lines[0], 'lines[0]'), /\[redacted\]/);
});
