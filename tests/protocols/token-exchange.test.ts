/**
 * Token exchange (RFC 8693): the orders service holds a user's access token (from the code flow) and exchanges it
 * for a token for a downstream service, which validates it through Gatehouse's JWKS with the resource-server
 * middleware. Policy refusals (`invalid_target`, `invalid_scope`, `unauthorized_client`), foreign and expired
 * subject tokens, delegation with `act`, and the audit line.
 */
import test, { type ExecutionContext } from 'ava';
import { decodeJwt, importJWK, SignJWT } from 'jose';
import * as oidc from 'openid-client';
import { generateJwks } from '../../src/provider/keys.ts';
import { demoUserTokens, discoverClient } from '../helpers/browserless-login.ts';
import { startGatehouse } from '../helpers/gatehouse.ts';
import { AUDIENCE as DOWNSTREAM, call, startApi } from '../resource-server/api.ts';

const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const AT = 'urn:ietf:params:oauth:token-type:access_token';
const ORDERS = 'https://orders.example';
const ELSEWHERE = 'https://elsewhere.example';
const REDIRECT = 'http://localhost:5000/callback';
const WEB_SECRET = 'web-secret-that-is-long-enough-0123456789abcdef';
const ORDERS_SECRET = 'orders-secret-that-is-long-enough-0123456789ab';
const PLAIN_SECRET = 'plain-secret-that-is-long-enough-0123456789abc';

async function setup(t: ExecutionContext) {
  const jwks = await generateJwks();
  const gh = await startGatehouse(t, {
    jwks: JSON.stringify(jwks),
    resourceServers: [
      { identifier: ORDERS, scopes: ['orders:read'] },
      { identifier: DOWNSTREAM, scopes: ['api:read', 'api:write'] },
      { identifier: ELSEWHERE, scopes: ['elsewhere:read'] },
    ],
    clients: [
      {
        client_id: 'web',
        client_secret: WEB_SECRET,
        redirect_uris: [REDIRECT],
        scope: 'openid orders:read',
        first_party: true,
      },
      {
        client_id: 'orders',
        client_secret: ORDERS_SECRET,
        redirect_uris: [],
        response_types: [],
        grant_types: [GRANT, 'client_credentials'],
        scope: 'orders:read',
        resource_server_for: [ORDERS],
        token_exchange: { audiences: [DOWNSTREAM], scopes: ['api:read'] },
      },
      {
        client_id: 'plain',
        client_secret: PLAIN_SECRET,
        redirect_uris: [],
        response_types: [],
        grant_types: [GRANT],
        resource_server_for: [ORDERS],
      },
    ],
  });
  const user = await demoUserTokens(
    gh.issuer,
    { id: 'web', secret: WEB_SECRET, redirectUri: REDIRECT },
    'openid orders:read',
    ORDERS,
  );
  return { gh, jwks, userToken: user.access_token };
}

async function exchange(issuer: string, params: Record<string, string>, client = `orders:${ORDERS_SECRET}`) {
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(client).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: GRANT, subject_token_type: AT, ...params }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

test('a resource server exchanges the user token for the downstream service, which validates it through JWKS', async (t) => {
  const { gh, userToken } = await setup(t);
  const out = await exchange(gh.issuer, { subject_token: userToken, audience: DOWNSTREAM, scope: 'api:read' });
  t.is(out.status, 200);
  t.is(out.body.issued_token_type, AT);
  t.is(out.body.token_type, 'Bearer');
  t.is(out.body.scope, 'api:read');
  const claims = decodeJwt(out.body.access_token as string);
  t.is(claims.aud, DOWNSTREAM);
  t.is(claims.sub, decodeJwt(userToken).sub);
  t.is(claims.client_id, 'orders');
  t.is(claims.act, undefined);

  const { url } = await startApi(t, { issuer: gh.issuer, audience: DOWNSTREAM });
  const profile = await call(`${url}/api/profile`, out.body.access_token);
  t.is(profile.status, 200);
  t.is(profile.body.sub, claims.sub);
  t.is(
    (await call(`${url}/api/profile`, userToken)).status,
    401,
    'the original token is not for the downstream service',
  );

  const line = gh.logs.find((l) => l.audit === 'token.exchanged');
  t.like(line, { clientId: 'orders', sub: claims.sub, audience: DOWNSTREAM, kind: 'impersonation' });
  t.false(JSON.stringify(gh.logs).includes(out.body.access_token as string), 'the issued token is not logged');
});

test("delegation: with the caller's own token as actor_token, the issued token carries act", async (t) => {
  const { gh, userToken } = await setup(t);
  const orders = await discoverClient(gh.issuer, 'orders', ORDERS_SECRET);
  const own = await oidc.clientCredentialsGrant(orders, { scope: 'orders:read', resource: ORDERS });
  const out = await exchange(gh.issuer, {
    subject_token: userToken,
    audience: DOWNSTREAM,
    actor_token: own.access_token,
    actor_token_type: AT,
  });
  t.is(out.status, 200);
  t.deepEqual(decodeJwt(out.body.access_token as string).act, { sub: 'orders' });
  t.is(out.body.scope, 'api:read', 'without scope: every scope the policy allows for the target');

  const someoneElses = await exchange(gh.issuer, {
    subject_token: userToken,
    audience: DOWNSTREAM,
    actor_token: userToken,
    actor_token_type: AT,
  });
  t.is(someoneElses.body.error, 'invalid_grant', 'an actor token issued to another client is refused');
});

test('targets and scopes outside the policy are refused: invalid_target, invalid_scope', async (t) => {
  const { gh, userToken } = await setup(t);
  t.is((await exchange(gh.issuer, { subject_token: userToken, audience: ELSEWHERE })).body.error, 'invalid_target');
  t.is(
    (await exchange(gh.issuer, { subject_token: userToken, audience: 'https://unknown.example' })).body.error,
    'invalid_target',
  );
  t.is((await exchange(gh.issuer, { subject_token: userToken })).body.error, 'invalid_target', 'a target is required');
  const scope = await exchange(gh.issuer, { subject_token: userToken, audience: DOWNSTREAM, scope: 'api:write' });
  t.is(scope.status, 400);
  t.is(scope.body.error, 'invalid_scope');
});

test('a client without an exchange policy is refused unauthorized_client', async (t) => {
  const { gh, userToken } = await setup(t);
  const out = await exchange(gh.issuer, { subject_token: userToken, audience: DOWNSTREAM }, `plain:${PLAIN_SECRET}`);
  t.is(out.status, 400);
  t.is(out.body.error, 'unauthorized_client');
});

test('foreign, expired, mistyped and wrong-audience subject tokens are refused', async (t) => {
  const { gh, jwks, userToken } = await setup(t);
  const claims = decodeJwt(userToken);
  const sign = async (key: (typeof jwks.keys)[number], payload: Record<string, unknown>) =>
    new SignJWT(payload)
      .setProtectedHeader({ alg: key.alg as string, kid: key.kid as string, typ: 'at+jwt' })
      .sign(await importJWK(key, key.alg));
  const ours = jwks.keys.find((k) => k.alg === 'ES256') as (typeof jwks.keys)[number];
  const now = Math.floor(Date.now() / 1000);
  const base = { iss: gh.issuer, sub: claims.sub, aud: ORDERS, client_id: 'web', scope: 'orders:read', jti: 'x' };

  const expired = await sign(ours, { ...base, iat: now - 120, exp: now - 60 });
  t.is((await exchange(gh.issuer, { subject_token: expired, audience: DOWNSTREAM })).body.error, 'invalid_grant');

  const [foreignKey] = (await generateJwks(['ES256'])).keys;
  const foreign = await sign(
    { ...(foreignKey as (typeof jwks.keys)[number]), kid: ours.kid },
    { ...base, iat: now, exp: now + 60 },
  );
  t.is(
    (await exchange(gh.issuer, { subject_token: foreign, audience: DOWNSTREAM })).body.error,
    'invalid_grant',
    'signed by a key that is not ours',
  );

  const otherIssuer = await sign(ours, { ...base, iss: 'https://other-issuer.example', iat: now, exp: now + 60 });
  t.is((await exchange(gh.issuer, { subject_token: otherIssuer, audience: DOWNSTREAM })).body.error, 'invalid_grant');

  const otherAudience = await sign(ours, { ...base, aud: ELSEWHERE, iat: now, exp: now + 60 });
  t.is(
    (await exchange(gh.issuer, { subject_token: otherAudience, audience: DOWNSTREAM })).body.error,
    'invalid_grant',
    'a token for a service the caller does not serve',
  );

  const unknownUser = await sign(ours, { ...base, sub: 'nobody', iat: now, exp: now + 60 });
  t.is((await exchange(gh.issuer, { subject_token: unknownUser, audience: DOWNSTREAM })).body.error, 'invalid_grant');

  const wrongType = await exchange(gh.issuer, {
    subject_token: userToken,
    audience: DOWNSTREAM,
    subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
  });
  t.is(wrongType.body.error, 'invalid_request');
  t.is((await exchange(gh.issuer, { subject_token: 'garbage', audience: DOWNSTREAM })).body.error, 'invalid_grant');
});
