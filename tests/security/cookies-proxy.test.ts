/**
 * Cookies (attributes, __Host-/__Secure- names, key rotation), proxy trust and the issuer never coming from
 * request headers.
 */
import test from 'ava';
import * as oidc from 'openid-client';
import { CookieJar, loginThroughPages } from '../helpers/browserless-login.ts';
import { startGatehouse } from '../helpers/gatehouse.ts';
import { startRedis } from '../helpers/redis.ts';
import { CLIENTS, REDIRECT, rp } from './fixtures.ts';

const FORGED = {
  host: 'evil.example',
  'x-forwarded-host': 'evil.example',
  'x-forwarded-proto': 'https',
  forwarded: 'host=evil.example',
};

for (const trustProxy of [false, true]) {
  test(`trustProxy ${trustProxy}: discovery, redirects and form actions come from the issuer, never from Host or X-Forwarded-*`, async (t) => {
    const gh = await startGatehouse(t, { clients: CLIENTS, trustProxy });
    const res = await fetch(`${gh.issuer}/.well-known/openid-configuration`, { headers: FORGED });
    const text = await res.text();
    t.is(res.status, 200);
    t.notRegex(text, /evil\.example/);
    const meta = JSON.parse(text) as Record<string, unknown>;
    t.is(meta.issuer, gh.issuer);
    const endpoints = Object.entries(meta).filter(([k]) => k.endsWith('_endpoint') || k === 'jwks_uri');
    t.true(
      endpoints.some(([k]) => k === 'token_endpoint'),
      'the endpoints are listed',
    );
    for (const [k, v] of endpoints) t.true(String(v).startsWith(`${gh.issuer}/`), `${k}: ${v}`);
    const auth = await fetch(
      `${gh.issuer}/auth?${new URLSearchParams({ client_id: 'client-a', response_type: 'code', scope: 'openid', redirect_uri: REDIRECT })}`,
      { headers: FORGED, redirect: 'manual' },
    );
    t.is(auth.status, 303);
    const location = auth.headers.get('location') as string;
    t.notRegex(location, /evil/);
    t.true(new URL(location, gh.issuer).href.startsWith(`${gh.issuer}/interaction/`), location);
  });
}

/** Follows a flow against an https issuer served over plain http, as behind a TLS-terminating proxy. */
async function viaProxy(
  server: string,
  issuer: string,
  url: string,
  jar: CookieJar,
  setCookies: string[],
): Promise<Response> {
  const res = await fetch(url.replace(issuer, server), {
    redirect: 'manual',
    headers: { cookie: jar.header(), accept: 'text/html', origin: issuer },
  });
  setCookies.push(...res.headers.getSetCookie());
  jar.store(res);
  return res;
}

test('https issuer: session cookie __Host-session (Path=/), interaction cookies __Secure-, all Secure, HttpOnly, SameSite=Lax, signed', async (t) => {
  const issuer = 'https://gatehouse.test';
  const gh = await startGatehouse(t, { clients: CLIENTS, issuer });
  const server = `http://127.0.0.1:${(gh.server.address() as { port: number }).port}`;
  const jar = new CookieJar();
  const seen: string[] = [];
  const start = await viaProxy(
    server,
    issuer,
    `${issuer}/auth?${new URLSearchParams({ client_id: 'client-a', response_type: 'code', scope: 'openid', redirect_uri: REDIRECT })}`,
    jar,
    seen,
  );
  const interaction = new URL(start.headers.get('location') as string, issuer).href;
  t.true(interaction.startsWith(`${issuer}/interaction/`));
  await viaProxy(server, issuer, interaction, jar, seen);
  const login = await fetch(`${interaction.replace(issuer, server)}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded', origin: issuer },
    body: 'username=demo&password=demo-password',
  });
  t.is(login.status, 303);
  seen.push(...login.headers.getSetCookie());
  jar.store(login);
  await viaProxy(server, issuer, new URL(login.headers.get('location') as string, issuer).href, jar, seen);

  const byName = new Map(seen.map((c) => [c.slice(0, c.indexOf('=')), c.toLowerCase()]));
  const session = byName.get('__Host-session');
  t.truthy(session, [...byName.keys()].join(', '));
  t.truthy(byName.get('__Host-session.sig'), 'signed');
  t.regex(session as string, /path=\/;/);
  t.notRegex(session as string, /domain=/);
  t.truthy(byName.get('__Secure-interaction'));
  t.truthy(byName.get('__Secure-interaction.sig'));
  t.truthy(byName.get('__Secure-interaction_resume'));
  for (const [name, c] of byName) {
    if (/expires=thu, 01 jan 1970/.test(c)) continue;
    t.regex(name, /^__(Host|Secure)-/, name);
    t.regex(c, /; secure/, name);
    t.regex(c, /; httponly/, name);
    t.regex(c, /; samesite=lax/, name);
  }
});

test('http issuer (development): the same cookies without Secure and without prefixes', async (t) => {
  const gh = await startGatehouse(t, { clients: CLIENTS });
  const res = await fetch(
    `${gh.issuer}/auth?${new URLSearchParams({ client_id: 'client-a', response_type: 'code', scope: 'openid', redirect_uri: REDIRECT })}`,
    { redirect: 'manual' },
  );
  const cookies = res.headers.getSetCookie().map((c) => c.toLowerCase());
  t.true(cookies.some((c) => c.startsWith('_interaction=')));
  for (const c of cookies) {
    t.notRegex(c, /; secure/);
    t.regex(c, /; httponly/);
    t.regex(c, /; samesite=lax/);
  }
});

test('cookie keys rotate: with a new key first, a session signed with the old key still works; without the old key it does not', async (t) => {
  const redis = await startRedis(t);
  const OLD = 'old-cookie-key-0123456789abcdef0123456789abcdef';
  const NEW = 'new-cookie-key-fedcba9876543210fedcba9876543210';
  const common = { clients: CLIENTS, 'redis.url': redis.url, 'demo.seed': false };
  const first = await startGatehouse(t, { ...common, cookieKeys: [OLD] });
  await first.gatehouse.accounts.create({ username: 'demo', password: 'demo-password' });
  const a1 = await rp(first.issuer, 'client-a');
  const { jar } = await loginThroughPages(
    oidc.buildAuthorizationUrl(a1, { redirect_uri: REDIRECT, scope: 'openid' }),
    first.issuer,
    {
      username: 'demo',
      password: 'demo-password',
    },
  );
  const oldJar = jar.header();

  const silent = async (issuer: string, cookie: string) => {
    const a = await rp(issuer, 'client-a');
    const j = new CookieJar();
    for (const pair of cookie.split('; ')) j.store({ headers: { getSetCookie: () => [pair] } } as unknown as Response);
    const { callback } = await loginThroughPages(
      oidc.buildAuthorizationUrl(a, { redirect_uri: REDIRECT, scope: 'openid', prompt: 'none' }),
      issuer,
      {
        username: 'x',
        password: 'y',
        jar: j,
      },
    );
    return { callback, jar: j };
  };

  const rotated = await startGatehouse(t, { ...common, cookieKeys: [NEW, OLD] });
  const during = await silent(rotated.issuer, oldJar);
  t.truthy(during.callback.searchParams.get('code'), `old-key session accepted: ${during.callback}`);

  const retired = await startGatehouse(t, { ...common, cookieKeys: [NEW] });
  const stale = await silent(retired.issuer, oldJar);
  t.is(
    stale.callback.searchParams.get('error'),
    'login_required',
    'a cookie signed only with the retired key is ignored',
  );
  const resigned = await silent(retired.issuer, during.jar.header());
  t.truthy(
    resigned.callback.searchParams.get('code'),
    'cookies re-signed with the new key during the rotation keep working',
  );
});
