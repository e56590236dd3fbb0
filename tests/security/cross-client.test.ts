/**
 * A code, refresh token or access token issued to client A is worthless to client B, and B's attempt does not
 * harm A (no family revocation, no consumed code).
 */
import test from 'ava';
import * as oidc from 'openid-client';
import { startGatehouse } from '../helpers/gatehouse.ts';
import { basic, CLIENTS, codeFlow, codeOnly, FORM, REDIRECT, rp, SECRET_B } from './fixtures.ts';

async function setup(t: import('ava').ExecutionContext) {
  const gh = await startGatehouse(t, { clients: CLIENTS, 'refreshTokens.reuseIntervalSeconds': 0 });
  return { gh, a: await rp(gh.issuer, 'client-a'), b: await rp(gh.issuer, 'client-b') };
}

async function tokenAsB(issuer: string, body: Record<string, string>) {
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { ...FORM, authorization: basic('client-b', SECRET_B) },
    body: new URLSearchParams(body),
  });
  return { status: res.status, body: (await res.json()) as { error?: string } };
}

test('a code of client A is refused for client B, and A can still redeem it', async (t) => {
  const { gh, a } = await setup(t);
  const { code, verifier, callback } = await codeOnly(gh.issuer, a);
  const stolen = await tokenAsB(gh.issuer, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT,
    code_verifier: verifier,
  });
  t.is(stolen.status, 400);
  t.is(stolen.body.error, 'invalid_grant');
  const tokens = await oidc.authorizationCodeGrant(a, callback, { pkceCodeVerifier: verifier });
  t.truthy(tokens.access_token);
});

test("a refresh token of client A is refused for client B, and A's family keeps working", async (t) => {
  const { gh, a } = await setup(t);
  const { tokens } = await codeFlow(gh.issuer, a);
  const rt = tokens.refresh_token as string;
  const stolen = await tokenAsB(gh.issuer, { grant_type: 'refresh_token', refresh_token: rt });
  t.is(stolen.status, 400);
  t.is(stolen.body.error, 'invalid_grant');
  // Strict reuse (interval 0): had B's attempt consumed the token, this would now revoke the family.
  const next = await oidc.refreshTokenGrant(a, rt);
  t.truthy(next.refresh_token);
  const after = await oidc.refreshTokenGrant(a, next.refresh_token as string);
  t.truthy(after.access_token);
  t.false(gh.logs.some((l) => l.audit === 'token_family.revoked' || l.audit === 'refresh_token.reuse_detected'));
});

test("client B cannot revoke A's tokens, a public client cannot introspect them; A's tokens stay active", async (t) => {
  const { gh, a } = await setup(t);
  const { tokens } = await codeFlow(gh.issuer, a, 'openid offline_access');
  const revoke = await fetch(`${gh.issuer}/token/revocation`, {
    method: 'POST',
    headers: { ...FORM, authorization: basic('client-b', SECRET_B) },
    body: new URLSearchParams({ token: tokens.refresh_token as string }),
  });
  // RFC 7009: the answer does not tell B whether the token exists; it simply is not revoked.
  t.is(revoke.status, 200);
  const revokeAt = await fetch(`${gh.issuer}/token/revocation`, {
    method: 'POST',
    headers: { ...FORM, authorization: basic('client-b', SECRET_B) },
    body: new URLSearchParams({ token: tokens.access_token }),
  });
  t.is(revokeAt.status, 200);
  // A public client may introspect only its own tokens.
  const pub = await fetch(`${gh.issuer}/token/introspection`, {
    method: 'POST',
    headers: FORM,
    body: new URLSearchParams({ client_id: 'public-c', token: tokens.access_token }),
  });
  t.is(pub.status, 200);
  t.deepEqual(await pub.json(), { active: false });
  t.true((await oidc.tokenIntrospection(a, tokens.access_token)).active);
  t.true((await oidc.tokenIntrospection(a, tokens.refresh_token as string)).active);
  t.truthy((await oidc.refreshTokenGrant(a, tokens.refresh_token as string)).access_token);
  // B authenticating with A's access token as if it were its own refresh token gets nothing either.
  const confused = await tokenAsB(gh.issuer, { grant_type: 'refresh_token', refresh_token: tokens.access_token });
  t.is(confused.body.error, 'invalid_grant');
});
