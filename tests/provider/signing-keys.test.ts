/**
 * The provider's signing keys (src/provider/signing-keys.ts): oidc-provider's external-signing experiment at the
 * version Gatehouse acknowledges, signatures jose verifies with the public key alone, and for RS256 (deterministic)
 * the very bytes jose itself would sign. Over HTTP, tests/e2e/par-dpop-algs.test.ts verifies ID tokens of each
 * algorithm against the published JWKS.
 */
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import test from 'ava';
import * as jose from 'jose';
import { generateJwks } from '../../src/provider/keys.ts';
import { derToJose, EXTERNAL_SIGNING, signingKeys } from '../../src/provider/signing-keys.ts';

const require = createRequire(import.meta.url);
const root = dirname(require.resolve('oidc-provider/package.json'));

test('the external-signing experiment is at the version Gatehouse acknowledges', (t) => {
  const features = readFileSync(join(root, 'lib/helpers/features.js'), 'utf8');
  t.regex(features, new RegExp(`externalSigningSupport: \\{[^}]*version: \\['${EXTERNAL_SIGNING.ack}'\\]`));
  const jwt = readFileSync(join(root, 'lib/helpers/jwt.js'), 'utf8');
  t.regex(jwt, /parts\.push\(base64url\.encodeBuffer\(await key\.sign\(data\)\)\);/, 'signs header.payload bytes');
});

test('each key signs what jose verifies with its public JWK, and publishes no private part', async (t) => {
  const jwks = await generateJwks();
  const { keys } = signingKeys(jwks);
  t.is(keys.length, 3);
  for (const [i, key] of keys.entries()) {
    const jwk = jwks.keys[i];
    if (!jwk) throw new Error(`no JWK ${i}`);
    t.is(key.kid, jwk.kid);
    t.is(key.alg, jwk.alg);
    t.is(key.use, 'sig');
    const exported = (await key.keyObject()).export({ format: 'jwk' });
    t.is(exported.d, undefined, `${jwk.alg}: keyObject() is the public key`);
    const header = Buffer.from(JSON.stringify({ alg: jwk.alg, kid: jwk.kid })).toString('base64url');
    const payload = Buffer.from(JSON.stringify({ sub: 'someone' })).toString('base64url');
    const signature = Buffer.from(await key.sign(Buffer.from(`${header}.${payload}`))).toString('base64url');
    const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = jwk;
    const alg = jwk.alg;
    if (alg === undefined) throw new Error(`JWK ${i} has no alg`);
    const verified = await jose.compactVerify(
      `${header}.${payload}.${signature}`,
      await jose.importJWK(publicJwk, alg),
    );
    t.is(verified.protectedHeader.alg, alg);
  }
});

test('RS256 signatures (deterministic) are the very bytes jose signs', async (t) => {
  const jwks = await generateJwks(['RS256']);
  const jwk = jwks.keys[0];
  const [key] = signingKeys(jwks).keys;
  if (!jwk || !key) throw new Error('one RS256 key');
  const header = { alg: 'RS256', kid: jwk.kid };
  const payload = Buffer.from(JSON.stringify({ sub: 'someone', aud: 'rp' }));
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${payload.toString('base64url')}`;
  const ours = `${input}.${Buffer.from(await key.sign(Buffer.from(input))).toString('base64url')}`;
  const byJose = await new jose.CompactSign(payload)
    .setProtectedHeader(header)
    .sign(await jose.importJWK(jwk, 'RS256'));
  t.is(ours, byJose);
});

test('ECDSA signatures turn from DER into r || s: every width of r and s verifies as IEEE P1363', (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const widths = new Set<number>();
  for (let i = 0; i < 3000; i++) {
    const data = Buffer.from(`message ${i}`);
    const der = sign('sha256', data, privateKey);
    widths.add(der.length);
    const raw = derToJose(der, 32);
    t.is(raw.length, 64);
    t.true(verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, raw), `signature ${i}`);
  }
  // 3,000 signatures cover both components with a leading zero (DER 72 bytes), neither (70) and a short one of
  // 31 bytes (69: about 12 expected, none at all has a chance of about 1e-5).
  t.true(widths.has(72) && widths.has(70) && widths.has(69), `DER lengths seen: ${[...widths].sort().join(', ')}`);
});

test('a DER value that is not an ECDSA signature is refused', (t) => {
  t.throws(() => derToJose(Buffer.from([0x31, 0x04, 0x02, 0x01, 0x01, 0x02]), 32), { instanceOf: TypeError });
  const tooLong = Buffer.concat([
    Buffer.from([0x30, 0x46, 0x02, 0x21, 0x01]),
    Buffer.alloc(32, 1),
    Buffer.from([0x02, 0x21, 0x00]),
    Buffer.alloc(32, 1),
  ]);
  t.throws(() => derToJose(tooLong, 32), { message: /too long/ });
});
