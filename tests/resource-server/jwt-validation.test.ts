/**
 * RFC 9068 validation: every way a token can be wrong is 401 invalid_token, with keys from a real JWKS
 * served over HTTP; plus the key cache rules (unknown kid, cooldown, rotation) and an unreachable issuer.
 */
import { createPublicKey } from 'node:crypto';
import test from 'ava';
import * as jose from 'jose';
import { AUDIENCE, call, startApi } from './api.ts';
import { makeKey, startTestIssuer } from './test-issuer.ts';

async function setup(t: Parameters<typeof startTestIssuer>[0], cooldownMs = 60_000) {
  const k1 = await makeKey('k1');
  const iss = await startTestIssuer(t, [k1]);
  const { url } = await startApi(t, { issuer: iss.issuer, unknownKidCooldownMs: cooldownMs });
  return { iss, k1, profile: `${url}/api/profile` };
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

async function expectInvalid(
  t: Parameters<typeof startTestIssuer>[0],
  profile: string,
  token: string,
  description: RegExp,
) {
  const res = await call(profile, token);
  t.is(res.status, 401);
  t.is(res.body.error, 'invalid_token');
  t.regex(String(res.body.error_description), description);
  t.regex(
    res.challenge ?? '',
    /^Bearer realm="http:\/\/localhost:4000", error="invalid_token", error_description="[^"]+"$/,
  );
}

test('expired token: invalid_token; a token a second past exp is still inside the leeway', async (t) => {
  const { iss, profile } = await setup(t);
  const now = Math.floor(Date.now() / 1000);
  await expectInvalid(
    t,
    profile,
    await iss.sign(iss.goodClaims(AUDIENCE, { iat: now - 120, exp: now - 60 })),
    /expired/,
  );
  const justPast = await call(profile, await iss.sign(iss.goodClaims(AUDIENCE, { iat: now - 60, exp: now - 1 })));
  t.is(justPast.status, 200);
});

test('not yet valid (nbf) and issued in the future (iat): invalid_token', async (t) => {
  const { iss, profile } = await setup(t);
  const now = Math.floor(Date.now() / 1000);
  await expectInvalid(t, profile, await iss.sign(iss.goodClaims(AUDIENCE, { nbf: now + 120 })), /nbf/);
  await expectInvalid(t, profile, await iss.sign(iss.goodClaims(AUDIENCE, { iat: now + 120, exp: now + 600 })), /iat/);
});

test('wrong audience and wrong issuer: invalid_token', async (t) => {
  const { iss, profile } = await setup(t);
  await expectInvalid(t, profile, await iss.sign(iss.goodClaims(AUDIENCE, { aud: 'http://localhost:4001' })), /aud/);
  await expectInvalid(t, profile, await iss.sign(iss.goodClaims(AUDIENCE, { iss: 'http://evil.example' })), /iss/);
});

test('alg none is refused', async (t) => {
  const { iss, profile } = await setup(t);
  const unsigned = `${b64({ alg: 'none', typ: 'at+jwt', kid: 'k1' })}.${b64(iss.goodClaims(AUDIENCE))}.`;
  await expectInvalid(t, profile, unsigned, /algorithm|malformed/);
  const noKid = `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(iss.goodClaims(AUDIENCE))}.`;
  await expectInvalid(t, profile, noKid, /algorithm|malformed/);
});

test('HS256 "signed" with the public key (key confusion) is refused', async (t) => {
  const { iss, k1, profile } = await setup(t);
  const pem = createPublicKey({ key: k1.publicJwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
  for (const secret of [Buffer.from(pem), Buffer.from(JSON.stringify(k1.publicJwk))]) {
    const forged = await new jose.SignJWT(iss.goodClaims(AUDIENCE))
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: 'k1' })
      .sign(secret);
    await expectInvalid(t, profile, forged, /algorithm/);
  }
});

test('wrong or missing typ: an ID token or a plain JWT is not an access token', async (t) => {
  const { iss, profile } = await setup(t);
  await expectInvalid(t, profile, await iss.sign(iss.goodClaims(AUDIENCE), { typ: 'JWT' }), /typ/);
  await expectInvalid(t, profile, await iss.sign(iss.goodClaims(AUDIENCE), { typ: null }), /typ/);
  const ok = await call(profile, await iss.sign(iss.goodClaims(AUDIENCE), { typ: 'application/at+jwt' }));
  t.is(ok.status, 200);
});

test('required claims must be present and a sender-constrained token is refused', async (t) => {
  const { iss, profile } = await setup(t);
  for (const claim of ['sub', 'client_id', 'jti', 'iat', 'exp']) {
    const claims = iss.goodClaims(AUDIENCE);
    delete claims[claim];
    await expectInvalid(t, profile, await iss.sign(claims), new RegExp(claim));
  }
  await expectInvalid(
    t,
    profile,
    await iss.sign(iss.goodClaims(AUDIENCE, { cnf: { jkt: 'abc' } })),
    /sender-constrained/,
  );
});

test('a bad signature and garbage are invalid_token', async (t) => {
  const { iss, profile } = await setup(t);
  const good = await iss.sign(iss.goodClaims(AUDIENCE));
  const [h, p] = good.split('.');
  const other = await iss.sign(iss.goodClaims(AUDIENCE, { sub: 'someone-else' }));
  await expectInvalid(t, profile, `${h}.${other.split('.')[1]}.${good.split('.')[2]}`, /signature/);
  await expectInvalid(t, profile, `${h}.${p}`, /malformed/);
  await expectInvalid(t, profile, 'not-a-jwt', /malformed/);
});

test('unknown kid: one JWKS refetch, then the cooldown stops forged kids from hammering the issuer', async (t) => {
  const { iss, profile } = await setup(t);
  t.is((await call(profile, await iss.sign(iss.goodClaims(AUDIENCE)))).status, 200);
  t.is(iss.jwksFetches(), 1);
  const stranger = await makeKey('k-forged');
  for (let i = 0; i < 10; i++) {
    await expectInvalid(
      t,
      profile,
      await iss.sign(iss.goodClaims(AUDIENCE), { key: stranger, kid: `forged-${i}` }),
      /unknown key/,
    );
  }
  t.is(iss.jwksFetches(), 2, 'ten forged kids cost one refetch');
  t.is(
    (await call(profile, await iss.sign(iss.goodClaims(AUDIENCE)))).status,
    200,
    'known keys keep working from cache',
  );
  t.is(iss.jwksFetches(), 2);
});

test('key rotation: a token signed with a newly published key is accepted after one refetch', async (t) => {
  const { iss, k1, profile } = await setup(t);
  t.is((await call(profile, await iss.sign(iss.goodClaims(AUDIENCE)))).status, 200);
  const k2 = await makeKey('k2');
  iss.published = [k2, k1];
  const rotated = await call(profile, await iss.sign(iss.goodClaims(AUDIENCE), { key: k2 }));
  t.is(rotated.status, 200);
  t.is(iss.jwksFetches(), 2);
  t.is(
    (await call(profile, await iss.sign(iss.goodClaims(AUDIENCE), { key: k1 }))).status,
    200,
    'the old key still verifies while published',
  );
  t.is(iss.jwksFetches(), 2);
});

test('a key is used only for its own algorithm; a token without kid needs exactly one fitting key', async (t) => {
  const es = await makeKey('es', 'ES256');
  const rs = await makeKey('rs', 'RS256');
  const iss = await startTestIssuer(t, [es, rs]);
  const { url } = await startApi(t, { issuer: iss.issuer });
  const profile = `${url}/api/profile`;
  t.is((await call(profile, await iss.sign(iss.goodClaims(AUDIENCE), { key: rs, kid: null }))).status, 200);
  const wrongKid = await iss.sign(iss.goodClaims(AUDIENCE), { key: rs, kid: 'es' });
  await expectInvalid(t, profile, wrongKid, /unknown key/);
});

test('an unreachable issuer is 503 temporarily_unavailable, not 401 or 500', async (t) => {
  const { url } = await startApi(t, { issuer: 'http://127.0.0.1:9', timeoutMs: 1000 });
  const iss = await startTestIssuer(t, [await makeKey('k1')]);
  const token = await iss.sign(iss.goodClaims(AUDIENCE));
  const res = await call(`${url}/api/profile`, token);
  t.is(res.status, 503);
  t.is(res.body.error, 'temporarily_unavailable');
});

test('the issuer going down: cached keys keep verifying, and a reload is not retried on every request', async (t) => {
  const iss = await startTestIssuer(t, [await makeKey('k1')]);
  const { url, guard } = await startApi(t, { issuer: iss.issuer, jwksMaxAgeMs: 1 });
  const token = await iss.sign(iss.goodClaims(AUDIENCE));
  t.is((await call(`${url}/api/profile`, token)).status, 200);
  iss.down = true;
  await new Promise((r) => setTimeout(r, 5));
  for (let i = 0; i < 5; i++) t.is((await call(`${url}/api/profile`, token)).status, 200);
  t.is(guard.keys.fetches, 2, 'one failed reload attempt, then the cached keys for the retry delay');
});
