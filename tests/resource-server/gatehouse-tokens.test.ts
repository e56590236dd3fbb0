/**
 * The middleware against a real Gatehouse: real tokens from the code flow and client credentials, JWT mode and
 * introspection mode, and the trade-off between them after revocation.
 */
import test from 'ava';
import * as oidc from 'openid-client';
import { loginThroughPages, discoverClient } from '../helpers/browserless-login.ts';
import { startGatehouse } from '../helpers/gatehouse.ts';
import { AUDIENCE, call, startApi } from './api.ts';

const LIVE = 'http://localhost:4001';
const REDIRECT = 'http://localhost:5000/callback';
const WEB_SECRET = 'web-secret-that-is-long-enough-0123456789abcdef';
const API_SECRET = 'api-secret-that-is-long-enough-0123456789abcdef';

async function setup(t: Parameters<typeof startGatehouse>[0]) {
  const gh = await startGatehouse(t, {
    resourceServers: [
      { identifier: AUDIENCE, scopes: ['api:read', 'api:write'], default: true },
      { identifier: LIVE, scopes: ['api:read'], accessTokenFormat: 'opaque' },
    ],
    clients: [
      {
        client_id: 'web',
        client_secret: WEB_SECRET,
        redirect_uris: [REDIRECT],
        grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
        scope: 'openid profile email offline_access api:read',
        first_party: true,
      },
      {
        client_id: 'api',
        client_secret: API_SECRET,
        redirect_uris: [],
        grant_types: [],
        response_types: [],
        resource_server_for: [LIVE],
      },
    ],
  });
  const rp = await discoverClient(gh.issuer, 'web', WEB_SECRET);
  return { gh, rp };
}

async function login(
  gh: { issuer: string },
  rp: oidc.Configuration,
  username: string,
  password: string,
  resource: string,
) {
  const verifier = oidc.randomPKCECodeVerifier();
  const url = oidc.buildAuthorizationUrl(rp, {
    redirect_uri: REDIRECT,
    scope: 'openid offline_access api:read',
    resource,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  const { callback } = await loginThroughPages(url, gh.issuer, { username, password });
  return oidc.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier }, { resource });
}

test('real Gatehouse JWTs: the user token reaches the profile, an ID token does not, admin needs the role', async (t) => {
  const { gh, rp } = await setup(t);
  const { url, guard } = await startApi(t, { issuer: gh.issuer });
  const user = await login(gh, rp, 'demo', 'demo-password', AUDIENCE);
  const profile = await call(`${url}/api/profile`, user.access_token);
  t.is(profile.status, 200);
  t.is(profile.body.client_id, 'web');
  t.deepEqual(profile.body.roles, ['user']);
  t.is((await call(`${url}/api/admin`, user.access_token)).status, 403);

  const idToken = await call(`${url}/api/profile`, user.id_token as string);
  t.is(idToken.status, 401, 'an ID token is not an access token');
  t.regex(String(idToken.body.error_description), /typ/);
  t.is((await call(`${url}/api/profile`, user.refresh_token as string)).status, 401, 'neither is a refresh token');

  await gh.gatehouse.accounts.create({
    username: 'root',
    password: 'root-password-long',
    email: 'root@example.com',
    name: 'Root',
    roles: ['admin'],
  });
  const admin = await login(gh, rp, 'root', 'root-password-long', AUDIENCE);
  const adminAnswer = await call(`${url}/api/admin`, admin.access_token);
  t.is(adminAnswer.status, 200);
  t.deepEqual(adminAnswer.body.roles, ['admin']);

  const machine = await oidc.clientCredentialsGrant(rp, { scope: 'api:read', resource: AUDIENCE });
  const cc = await call(`${url}/api/profile`, machine.access_token);
  t.is(cc.status, 200);
  t.is(cc.body.sub, 'web');
  t.is(guard.keys.fetches, 1, 'one JWKS fetch served every check');
});

test('introspection mode sees revocation at once; JWT mode trusts the token until exp (the trade-off)', async (t) => {
  const { gh, rp } = await setup(t);
  const jwtApi = await startApi(t, { issuer: gh.issuer });
  const liveApi = await startApi(t, {
    issuer: gh.issuer,
    audience: LIVE,
    mode: 'introspection',
    introspection: { clientId: 'api', clientSecret: API_SECRET },
  });
  const wrongSecret = await startApi(t, {
    issuer: gh.issuer,
    audience: LIVE,
    mode: 'introspection',
    introspection: { clientId: 'api', clientSecret: 'wrong' },
  });

  const live = await login(gh, rp, 'demo', 'demo-password', LIVE);
  t.notRegex(live.access_token, /^ey/, 'the introspected resource gets an opaque token');
  const ok = await call(`${liveApi.url}/api/profile`, live.access_token);
  t.is(ok.status, 200);
  t.is(ok.body.checked_by, 'introspection');
  t.is(
    (await call(`${wrongSecret.url}/api/profile`, live.access_token)).status,
    503,
    'bad API credentials are the server side failing',
  );

  const jwt = await login(gh, rp, 'demo', 'demo-password', AUDIENCE);
  t.is(
    (await call(`${liveApi.url}/api/profile`, jwt.access_token)).status,
    401,
    'a JWT for another audience is refused by introspection mode',
  );
  t.is(
    (await call(`${jwtApi.url}/api/profile`, live.access_token)).status,
    401,
    'an opaque token is refused by JWT mode',
  );

  await oidc.tokenRevocation(rp, live.refresh_token as string);
  await oidc.tokenRevocation(rp, jwt.refresh_token as string);

  const afterLive = await call(`${liveApi.url}/api/profile`, live.access_token);
  t.is(afterLive.status, 401);
  t.is(afterLive.body.error, 'invalid_token');
  const afterJwt = await call(`${jwtApi.url}/api/profile`, jwt.access_token);
  t.is(afterJwt.status, 200, 'a JWT stays valid until exp: keep access tokens short');
});
