/**
 * The provider's signing keys as oidc-provider `ExternalSigningKey`s that sign with `node:crypto` directly.
 *
 * oidc-provider signs a private JWK through jose, which in Node goes through WebCrypto (algorithm normalisation,
 * a crypto job and its promise per signature). Handing it the same keys as external signing keys
 * (`features.externalSigningSupport`, its documented extension point for KMS and HSM keys) lets it call
 * `crypto.sign` directly; the tokens are the JWS jose would produce, with the same header (`alg`, `typ`, `kid`).
 * The published JWKS is built from the public parts.
 *
 * ES256 and EdDSA signatures are cheap and made synchronously on the calling thread (no thread hop, the least CPU
 * per signature). An RS256 signature costs many times as much, so it is made on libuv's thread pool (`crypto.sign`
 * with a callback) and never holds up the event loop.
 *
 * Only this module holds the private `KeyObject`s; oidc-provider sees the public key (`keyObject()`), used when it
 * verifies its own tokens (an `id_token_hint`).
 */
import { createPrivateKey, createPublicKey, type KeyObject, sign } from 'node:crypto';
import { ExternalSigningKey } from 'oidc-provider';
import type { SigningAlg } from '../config/types.ts';
import type { PrivateJwks, SigningJwk } from './keys.ts';

/** The oidc-provider feature flag this module needs, with the experiment version it was written for. */
export const EXTERNAL_SIGNING = { enabled: true, ack: 'experimental-01' } as const;

/** `crypto.sign`'s digest and options per JWS algorithm Gatehouse signs with (RFC 7518 3.3, 3.4; RFC 8037). */
function signer(alg: SigningAlg, key: KeyObject): (data: Uint8Array) => Buffer | Promise<Buffer> {
  switch (alg) {
    case 'RS256':
      return (data) =>
        new Promise((resolve, reject) => {
          sign('sha256', data, key, (err, signature) => (err ? reject(err) : resolve(signature)));
        });
    case 'ES256':
      // Signed with the KeyObject itself (an options object such as `{ key, dsaEncoding }` takes Node's slower key
      // preparation path), then turned from DER into the r || s form JWS wants.
      return (data) => derToJose(sign('sha256', data, key), 32);
    case 'EdDSA':
      return (data) => sign(null, data, key);
  }
}

/** An ECDSA signature's DER SEQUENCE { INTEGER r, INTEGER s } as JWS's fixed-width r || s (RFC 7518 3.4). */
export function derToJose(der: Buffer, size: number): Buffer {
  let at = 2;
  if (der[0] !== 0x30) throw new TypeError('not a DER ECDSA signature');
  if ((der[1] as number) & 0x80) at += (der[1] as number) & 0x7f;
  const out = Buffer.alloc(size * 2);
  for (let i = 0; i < 2; i++) {
    if (der[at] !== 0x02) throw new TypeError('not a DER ECDSA signature');
    const length = der[at + 1] as number;
    let start = at + 2;
    const end = start + length;
    // An INTEGER carries a leading zero byte when its top bit is set; the fixed-width form has none.
    while (end - start > size && der[start] === 0) start++;
    if (end - start > size) throw new TypeError('ECDSA signature component too long');
    der.copy(out, i * size + size - (end - start), start, end);
    at = end;
  }
  return out;
}

class LocalSigningKey extends ExternalSigningKey {
  readonly #public: KeyObject;
  readonly #sign: (data: Uint8Array) => Buffer | Promise<Buffer>;

  constructor(jwk: SigningJwk) {
    super();
    const privateKey = createPrivateKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
    this.#public = createPublicKey(privateKey);
    this.#sign = signer(jwk.alg, privateKey);
    // The setters oidc-provider's class provides; `use` is always "sig".
    (this as { kid?: string }).kid = jwk.kid;
    (this as { alg?: string }).alg = jwk.alg;
  }

  override keyObject(): KeyObject {
    return this.#public;
  }

  override sign(data: Uint8Array): Buffer | Promise<Buffer> {
    return this.#sign(data);
  }
}

/** The JWKS to configure oidc-provider with: one external signing key per validated private JWK, in order. */
export function signingKeys(jwks: PrivateJwks): { keys: ExternalSigningKey[] } {
  return { keys: jwks.keys.map((jwk) => new LocalSigningKey(jwk)) };
}
