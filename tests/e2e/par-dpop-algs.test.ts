/**
 * PAR (RFC 9126), DPoP (RFC 9449) and the ID token algorithms a client may register.
 */
import test from 'ava';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import { loginThroughPages, discoverClient } from '../helpers/browserless-login.ts';
import { startGatehouse } from '../helpers/gatehouse.ts';

const REDIRECT = 'https://rp.example/cb';
const SECRET = 'par-dpop-secret-0123456789abcdef0123456789abcdef';

function client(id: string, extra: Record<string, unknown> = {}) {
  return {
    client_id: id,
    client_secret: SECRET,
    redirect_uris: [REDIRECT],
    grant_types: ['authorization_code', 'refresh_token'],
    scope: 'openid offline_access api:read',
    ...extra,
  };
}

test('pushed authorization request, then a DPoP-bound access and refresh token', async (t) => {
  const gh = await startGatehouse(t, { clients: [client('par')] });
  const config = await discoverClient(gh.issuer, 'par', SECRET);
  const dpop = oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair('ES256'));
  const verifier = oidc.randomPKCECodeVerifier();
  const url = await oidc.buildAuthorizationUrlWithPAR(
    config,
    {
      redirect_uri: REDIRECT,
      scope: 'openid offline_access api:read',
      prompt: 'consent',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: 'p',
    },
    { DPoP: dpop },
  );
  t.regex(url.searchParams.get('request_uri') ?? '', /^urn:ietf:params:oauth:request_uri:/);
  const { callback } = await loginThroughPages(url, gh.issuer, {
    username: 'demo',
    password: 'demo-password',
    consent: 'allow',
  });
  const tokens = await oidc.authorizationCodeGrant(
    config,
    callback,
    { pkceCodeVerifier: verifier, expectedState: 'p' },
    undefined,
    { DPoP: dpop },
  );
  t.is(tokens.token_type.toLowerCase(), 'dpop');
  const claims = jose.decodeJwt(tokens.access_token) as { cnf?: { jkt?: string } };
  t.truthy(claims.cnf?.jkt, 'access token bound to the DPoP key');
  // A confidential client's refresh token is not DPoP-bound (RFC 9449 section 5); the access tokens it yields are
  // bound when the request carries a proof.
  const rotated = await oidc.refreshTokenGrant(config, tokens.refresh_token as string, undefined, { DPoP: dpop });
  t.truthy((jose.decodeJwt(rotated.access_token) as { cnf?: { jkt?: string } }).cnf?.jkt);
  t.is(rotated.token_type.toLowerCase(), 'dpop');
});

for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) {
  test(`ID tokens signed with ${alg} when the client registers it`, async (t) => {
    const gh = await startGatehouse(t, { clients: [client('rp', { id_token_signed_response_alg: alg })] });
    const config = await discoverClient(gh.issuer, 'rp', SECRET);
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid',
      state: 's',
      nonce: 'n',
      prompt: 'consent',
    });
    const { callback } = await loginThroughPages(url, gh.issuer, {
      username: 'demo',
      password: 'demo-password',
      consent: 'allow',
    });
    const tokens = await oidc.authorizationCodeGrant(config, callback, { expectedState: 's', expectedNonce: 'n' });
    const { protectedHeader } = await jose.jwtVerify(
      tokens.id_token as string,
      jose.createRemoteJWKSet(new URL('/jwks', gh.issuer)),
      {
        issuer: gh.issuer,
        audience: 'rp',
      },
    );
    t.is(protectedHeader.alg, alg);
  });
}

test('ID tokens default to RS256', async (t) => {
  const gh = await startGatehouse(t);
  const discovery = (await (await fetch(`${gh.issuer}/.well-known/openid-configuration`)).json()) as Record<
    string,
    string[]
  >;
  t.true(discovery.id_token_signing_alg_values_supported?.includes('RS256'));
  t.deepEqual(discovery.code_challenge_methods_supported, ['S256']);
  t.deepEqual(discovery.response_types_supported, ['code']);
});
