/**
 * Refresh-token lifetimes: idle lifetime renewed by each rotation, capped by the absolute lifetime counted from
 * the login; neither the browser session's nor the Grant's lifetime cuts a refresh token short.
 */
import test from 'ava';
import * as oidc from 'openid-client';
import { loadConfig } from '../../src/config/load.ts';
import { ttl } from '../../src/provider/ttl.ts';
import { loginThroughPages, discoverClient } from '../helpers/browserless-login.ts';
import { startGatehouse } from '../helpers/gatehouse.ts';

const REDIRECT = 'https://app.example/cb';
const SECRET = 'lifetime-secret-0123456789abcdef0123456789abcdef';

async function login(overrides: Record<string, unknown>, t: import('ava').ExecutionContext) {
  const gh = await startGatehouse(t, {
    clients: [
      {
        client_id: 'app',
        client_secret: SECRET,
        redirect_uris: [REDIRECT],
        grant_types: ['authorization_code', 'refresh_token'],
      },
    ],
    ...overrides,
  });
  const config = await discoverClient(gh.issuer, 'app', SECRET);
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope: 'openid offline_access',
    prompt: 'consent',
    state: 's',
  });
  const { callback } = await loginThroughPages(url, gh.issuer, { username: 'demo', password: 'demo-password' });
  const tokens = await oidc.authorizationCodeGrant(config, callback, { expectedState: 's' });
  return { gh, config, tokens };
}

const now = () => Math.floor(Date.now() / 1000);

test('the idle lifetime applies to each refresh token, capped by the absolute lifetime from the login', async (t) => {
  const { config, tokens } = await login({ 'ttl.refreshTokenIdle': 60, 'ttl.refreshTokenAbsolute': 63 }, t);
  const loginAt = now();
  const first = await oidc.tokenIntrospection(config, tokens.refresh_token as string);
  t.true(first.active);
  t.true(Math.abs((first.exp as number) - (loginAt + 60)) <= 2, 'first token: idle lifetime');

  await new Promise((r) => setTimeout(r, 2200));
  const rotated = await oidc.refreshTokenGrant(config, tokens.refresh_token as string);
  const second = await oidc.tokenIntrospection(config, rotated.refresh_token as string);
  t.true(second.active);
  t.true(
    Math.abs((second.exp as number) - (loginAt + 63)) <= 2,
    'rotated token: capped by the absolute lifetime, not now + idle',
  );
});

test('a refresh token outlives the browser session at Gatehouse', async (t) => {
  const { gh, config, tokens } = await login({}, t);
  // The session ends (as it does when its lifetime runs out): its record is gone from the store.
  const store = gh.gatehouse.store as unknown as { liveKeys(): string[] };
  const sessions = store.liveKeys().filter((k) => k.startsWith('Session:'));
  t.true(sessions.length > 0);
  for (const key of sessions) await gh.gatehouse.store.adapter('Session').destroy(key.slice('Session:'.length));
  t.deepEqual(
    store.liveKeys().filter((k) => k.startsWith('Session:')),
    [],
  );
  const rotated = await oidc.refreshTokenGrant(config, tokens.refresh_token as string);
  t.truthy(rotated.refresh_token);
});

test('the Grant lives as long as the absolute refresh-token lifetime (the 14-day default never applies)', (t) => {
  const config = loadConfig({ env: {} });
  const lifetimes = ttl(config);
  t.is(lifetimes.Grant, 30 * 86400);
  t.is(lifetimes.RefreshToken(undefined, { iiat: now() }), 7 * 86400);
  t.is(lifetimes.RefreshToken(undefined, { iiat: now() - 29 * 86400 }), 86400);
  t.is(lifetimes.AccessToken(undefined, {}), 900);
});
