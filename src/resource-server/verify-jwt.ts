/**
 * Validates an RFC 9068 JWT access token completely, with keys from the issuer's JWKS.
 *
 * Rules (RFC 9068 section 4, RFC 8725):
 * - Asymmetric signature algorithms only; `none` and every HMAC algorithm are refused before any key is looked
 *   up, so a token "signed" with the public key as an HMAC secret cannot pass.
 * - `typ` must be `at+jwt` (or `application/at+jwt`): an ID token or other JWT is not an access token.
 * - `iss` equals the configured issuer; `aud` contains this resource server's identifier.
 * - `exp` and `nbf` are checked with a small clock leeway (default 5 s); `iat` must not be in the future.
 * - Required claims present and well typed: iss, exp, aud, sub, client_id, iat, jti.
 * - Sender-constrained tokens (`cnf`, e.g. DPoP) are refused: their proof of possession is not checked here.
 * Every failure is `invalid_token` with a fixed description that never echoes the token's contents.
 */
import * as jose from 'jose';
import { rolesOf, scopesOf, type AccessToken } from './access-token.ts';
import { AuthorizationServerUnavailable, BearerError } from './bearer-error.ts';
import type { KeySet } from './key-set.ts';

const ASYMMETRIC_ALGORITHMS = [
  'ES256',
  'ES384',
  'ES512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'EdDSA',
  'Ed25519',
];

interface JwtCheckOptions {
  issuer: string;
  audience: string;
  keys: KeySet;
  clockToleranceSeconds?: number;
}

function describe(err: unknown): string {
  if (err instanceof jose.errors.JWTExpired) return 'the access token has expired';
  if (err instanceof jose.errors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'aud':
        return 'the access token is not meant for this resource server (aud)';
      case 'iss':
        return 'the access token was not issued by the trusted issuer (iss)';
      case 'nbf':
        return 'the access token is not valid yet (nbf)';
      case 'iat':
        return 'the access token was issued in the future (iat)';
      case 'typ':
        return 'not an access token (typ must be at+jwt)';
      default:
        return `the access token lacks a valid ${err.claim} claim`;
    }
  }
  if (err instanceof jose.errors.JOSEAlgNotAllowed)
    return 'the access token is signed with an algorithm that is not accepted';
  if (err instanceof jose.errors.JWSSignatureVerificationFailed) return 'the access token signature is invalid';
  return 'the access token is malformed';
}

export async function verifyJwtAccessToken(token: string, opts: JwtCheckOptions): Promise<AccessToken> {
  let payload: jose.JWTPayload;
  try {
    ({ payload } = await jose.jwtVerify(token, opts.keys.resolve, {
      issuer: opts.issuer,
      audience: opts.audience,
      typ: 'at+jwt',
      algorithms: ASYMMETRIC_ALGORITHMS,
      clockTolerance: opts.clockToleranceSeconds ?? 5,
      requiredClaims: ['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti'],
    }));
  } catch (err) {
    if (err instanceof BearerError || err instanceof AuthorizationServerUnavailable) throw err;
    throw new BearerError('invalid_token', describe(err));
  }
  const leeway = opts.clockToleranceSeconds ?? 5;
  if (typeof payload.iat !== 'number' || payload.iat > Date.now() / 1000 + leeway) {
    throw new BearerError('invalid_token', 'the access token was issued in the future (iat)');
  }
  if (typeof payload.sub !== 'string' || typeof payload.client_id !== 'string' || typeof payload.jti !== 'string') {
    throw new BearerError('invalid_token', 'the access token has malformed claims');
  }
  if (payload.scope !== undefined && typeof payload.scope !== 'string')
    throw new BearerError('invalid_token', 'the access token has a malformed scope');
  // A sender-constrained (DPoP / mTLS) token is only good with its proof, which this middleware does not check.
  if (payload.cnf !== undefined)
    throw new BearerError('invalid_token', 'sender-constrained access tokens are not accepted here');
  return {
    sub: payload.sub,
    clientId: payload.client_id,
    scopes: scopesOf(payload.scope),
    roles: rolesOf(payload.roles),
    exp: payload.exp as number,
    claims: payload,
    checkedBy: 'jwt',
  };
}
