/**
 * Connected applications on /account over real HTTP: two real relying parties (openid-client) get access, the
 * page lists each in plain words, and "Remove access" ends that application's grant with every token of it —
 * the refresh token is refused and the access token is inactive — while the other application keeps its own.
 */
import test from 'ava';
import * as oidc from 'openid-client';
import { CookieJar, loginThroughPages, request } from '../helpers/browserless-login.ts';
import { startGatehouse } from '../helpers/gatehouse.ts';
import { parseExposition, sampleSum } from '../operations/prometheus-text.ts';
import { CLIENTS, REDIRECT, rp } from '../security/fixtures.ts';
import { capture, defined } from '../helpers/defined.ts';

async function connect(issuer: string, config: oidc.Configuration, jar: CookieJar, scope: string) {
  const verifier = oidc.randomPKCECodeVerifier();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    prompt: 'consent',
  });
  const { callback } = await loginThroughPages(url, issuer, { username: 'demo', password: 'demo-password', jar });
  return oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier });
}

/** The /account page's HTML (the jar holds a Gatehouse session) and its form token. */
async function accountPage(issuer: string, jar: CookieJar): Promise<{ html: string; csrf: string }> {
  const res = await request(`${issuer}/account`, jar);
  if (res.status !== 200) throw new Error(`/account answered ${res.status}`);
  const html = await res.text();
  return { html, csrf: capture(/name="csrf" value="([^"]+)"/, html) };
}

function appItems(html: string): string[] {
  return [...html.matchAll(/<li class="app">([\s\S]*?)<\/form>\s*<\/li>/g)].map((m) =>
    defined(m[1], 'm[1]')
      .replace(/<[^>]+>/g, ' ')
      .replace(/\s+/g, ' '),
  );
}

function post(issuer: string, jar: CookieJar, path: string, form: Record<string, string>): Promise<Response> {
  return request(`${issuer}${path}`, jar, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: issuer },
    body: new URLSearchParams(form).toString(),
  });
}

test('connected applications are listed in plain words; "Remove access" revokes that application\'s grant and every token of it', async (t) => {
  const gh = await startGatehouse(t, { clients: CLIENTS });
  const a = await rp(gh.issuer, 'client-a');
  const b = await rp(gh.issuer, 'client-b');
  const jar = new CookieJar();
  const tokensA = await connect(gh.issuer, a, jar, 'openid email offline_access api:read');
  const tokensB = await connect(gh.issuer, b, jar, 'openid profile offline_access');
  // client-b connects a second time in another session: still one entry, removed together.
  const tokensB2 = await connect(gh.issuer, b, new CookieJar(), 'openid profile');

  const { html, csrf } = await accountPage(gh.issuer, jar);
  const items = appItems(html);
  t.is(items.length, 2, 'one entry per application');
  const itemA = items.find((i) => i.includes('client-a')) as string;
  const itemB = items.find((i) => i.includes('client-b')) as string;
  t.regex(itemA, /See your email address/);
  t.regex(itemA, /Stay signed in/);
  t.regex(itemA, /Use localhost:4000 on your behalf/);
  t.regex(itemA, /keeps access while you are away: yes/);
  t.regex(itemA, /Access given \d/);
  t.regex(itemB, /See your name and username/);
  t.false(
    html.includes('gatehouse-account'),
    "Gatehouse's own account client is not an application the user connected",
  );

  t.is(
    (await post(gh.issuer, jar, '/account/apps/remove', { client: 'client-b' })).status,
    403,
    'no form token, no removal',
  );
  const removed = await post(gh.issuer, jar, '/account/apps/remove', { csrf, client: 'client-b' });
  t.is(removed.status, 200);
  const after = await removed.text();
  t.regex(after, /no longer has access/);
  t.deepEqual(
    appItems(after).map((i) => i.includes('client-a')),
    [true],
  );

  for (const rt of [tokensB.refresh_token as string])
    await t.throwsAsync(
      oidc.refreshTokenGrant(b, rt),
      { code: 'OAUTH_RESPONSE_BODY_ERROR' },
      'the refresh token is refused',
    );
  t.false((await oidc.tokenIntrospection(b, tokensB.access_token)).active, 'the access token is revoked');
  t.false(
    (await oidc.tokenIntrospection(b, tokensB2.access_token)).active,
    'the grant of the other session is revoked too',
  );
  t.truthy(
    (await oidc.refreshTokenGrant(a, tokensA.refresh_token as string)).access_token,
    'the other application keeps its access',
  );

  t.is(
    (await post(gh.issuer, jar, '/account/apps/remove', { csrf, client: 'client-b' })).status,
    400,
    'nothing left to remove',
  );
  t.is((await post(gh.issuer, jar, '/account/apps/remove', { csrf, client: '' })).status, 400);
  t.is((await post(gh.issuer, jar, '/account/apps/remove', { csrf, client: 'x'.repeat(5000) })).status, 400);
  t.is((await request(`${gh.issuer}/account/apps/remove`, jar)).status, 405);

  t.is(gh.logs.filter((l) => l.audit === 'account.access_removed' && l.clientId === 'client-b').length, 1);
  t.is(
    gh.logs.filter((l) => l.audit === 'grant.revoked' && l.reason === 'access_removed' && l.clientId === 'client-b')
      .length,
    2,
  );
  const metrics = parseExposition(await (await fetch(`${gh.issuer}/metrics`)).text());
  t.is(sampleSum(metrics, 'gatehouse_account_events_total', { event: 'account.access_removed' }), 1);
});

test('a grant that ended elsewhere (revoked by its client) disappears from the list', async (t) => {
  const gh = await startGatehouse(t, { clients: CLIENTS });
  const a = await rp(gh.issuer, 'client-a');
  const jar = new CookieJar();
  const tokens = await connect(gh.issuer, a, jar, 'openid offline_access');
  t.is(appItems((await accountPage(gh.issuer, jar)).html).length, 1);
  await oidc.tokenRevocation(a, tokens.refresh_token as string);
  t.is(appItems((await accountPage(gh.issuer, jar)).html).length, 0);
  t.regex((await accountPage(gh.issuer, jar)).html, /No application has access/);
});
