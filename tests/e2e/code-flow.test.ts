import test from 'ava';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import { startGatehouse } from '../helpers/gatehouse.ts';
import { authorizeWithPkce, discoverClient } from '../helpers/browserless-login.ts';

const API = 'http://localhost:4000';
const REDIRECT = 'http://localhost:5000/callback';

async function setup(t: Parameters<typeof startGatehouse>[0], overrides: Record<string, unknown> = {}) {
  const gh = await startGatehouse(t, {
    clients: [
      {
        client_id: 'web',
        client_secret: 'web-secret-that-is-long-enough-0123456789abcdef',
        redirect_uris: [REDIRECT],
        post_logout_redirect_uris: ['http://localhost:5000/'],
        grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
        scope: 'openid profile email offline_access api:read',
      },
      {
        client_id: 'other',
        client_secret: 'other-secret-that-is-long-enough-0123456789abcdef',
        redirect_uris: [REDIRECT],
        grant_types: ['authorization_code', 'refresh_token'],
      },
    ],
    ...overrides,
  });
  const config = await discoverClient(gh.issuer, 'web', 'web-secret-that-is-long-enough-0123456789abcdef');
  return { gh, config };
}

async function codeFlow(gh: { issuer: string }, config: oidc.Configuration, params: Record<string, string> = {}) {
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const { callback, verifier, jar } = await authorizeWithPkce(
    config,
    gh.issuer,
    { username: 'demo', password: 'demo-password' },
    { redirect_uri: REDIRECT, scope: 'openid profile email offline_access api:read', state, nonce, ...params },
  );
  const tokens = await oidc.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
  });
  return { tokens, jar };
}

test('code flow with PKCE issues an RFC 9068 access token, an ID token and a rotating refresh token', async (t) => {
  const { gh, config } = await setup(t);
  const { tokens } = await codeFlow(gh, config);
  t.truthy(tokens.refresh_token);
  t.is(tokens.token_type.toLowerCase(), 'bearer');
  const claims = tokens.claims();
  t.truthy(claims?.sub);

  const jwks = jose.createRemoteJWKSet(new URL('/jwks', gh.issuer));
  const { payload, protectedHeader } = await jose.jwtVerify(tokens.access_token, jwks, {
    issuer: gh.issuer,
    audience: API,
    typ: 'at+jwt',
  });
  t.is(protectedHeader.alg, 'ES256');
  for (const claim of ['iss', 'sub', 'aud', 'client_id', 'iat', 'exp', 'jti', 'scope']) t.truthy(payload[claim], claim);
  t.is(payload.client_id, 'web');
  t.deepEqual(payload.roles, ['user']);
  t.is(payload.scope, 'api:read');
  t.true((payload.exp as number) - (payload.iat as number) <= 900);

  // Rotation: the new refresh token works, the old one is refused, and replaying it revokes the family.
  const first = tokens.refresh_token as string;
  const second = await oidc.refreshTokenGrant(config, first);
  t.not(second.refresh_token, first);
  const idAfter = second.claims();
  t.is(idAfter?.sub, claims?.sub);
});

test('refresh token reuse outside the grace period revokes the family', async (t) => {
  const { gh, config } = await setup(t, { 'refreshTokens.reuseIntervalSeconds': 0 });
  const { tokens } = await codeFlow(gh, config);
  const first = tokens.refresh_token as string;
  const second = await oidc.refreshTokenGrant(config, first);
  const replay = await t.throwsAsync(oidc.refreshTokenGrant(config, first));
  t.is((replay as oidc.ResponseBodyError).error, 'invalid_grant');
  const afterRevocation = await t.throwsAsync(oidc.refreshTokenGrant(config, second.refresh_token as string));
  t.is((afterRevocation as oidc.ResponseBodyError).error, 'invalid_grant');
  const reuse = gh.logs.filter((l) => l.audit === 'refresh_token.reuse_detected');
  t.is(reuse.length, 1);
  t.is(reuse[0]?.clientId, 'web');
  t.false(JSON.stringify(gh.logs).includes(first), 'the token itself is never logged');
});

test('userinfo, introspection, revocation and client credentials', async (t) => {
  const { gh, config } = await setup(t);
  const { tokens } = await codeFlow(gh, config, { scope: 'openid profile email offline_access' });
  const info = await oidc.fetchUserInfo(config, tokens.access_token, tokens.claims()?.sub as string);
  t.is(info.preferred_username, 'demo');
  t.is(info.email, 'demo@example.com');

  const intro = await oidc.tokenIntrospection(config, tokens.refresh_token as string);
  t.true(intro.active);
  await oidc.tokenRevocation(config, tokens.refresh_token as string);
  const after = await oidc.tokenIntrospection(config, tokens.refresh_token as string);
  t.false(after.active);

  const cc = await oidc.clientCredentialsGrant(config, { scope: 'api:read', resource: API });
  const { payload } = await jose.jwtVerify(cc.access_token, jose.createRemoteJWKSet(new URL('/jwks', gh.issuer)), {
    audience: API,
    typ: 'at+jwt',
  });
  t.is(payload.client_id, 'web');
  t.is(payload.sub, 'web');
});
