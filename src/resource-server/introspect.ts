/**
 * Checks an access token by asking the authorization server (RFC 7662 token introspection) on every request.
 *
 * Why: a JWT access token stays valid until its `exp` even after logout or revocation; introspection sees
 * revocation at once, at the price of one call to the authorization server per request. Gatehouse introspects
 * opaque access tokens only (oidc-provider refuses to introspect JWTs), so a resource server that wants this mode
 * is configured at Gatehouse with `accessTokenFormat: "opaque"`.
 *
 * Rules:
 * - The resource server authenticates as a confidential client (client_secret_basic).
 * - `active` must be true, `token_type` Bearer (a refresh token is not an access token), `iss` the issuer,
 *   `aud` must contain our identifier, no `cnf` (sender-constrained tokens need a proof we do not check).
 * - A JWT-shaped token is refused: tokens for an introspecting resource server are opaque.
 * - The authorization server unreachable or refusing our credentials is 503, not the caller's fault.
 */
import { rolesOf, scopesOf, type AccessToken } from './access-token.ts';
import { BearerError } from './bearer-error.ts';
import { fetchJson } from './fetch-json.ts';

interface IntrospectionOptions {
  issuer: string;
  audience: string;
  endpoint: () => Promise<string>;
  clientId: string;
  clientSecret: string;
  timeoutMs?: number;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;

/** RFC 6749 section 2.3.1: id and secret are form-encoded before Basic encoding. */
function basic(id: string, secret: string): string {
  const enc = (v: string) => encodeURIComponent(v).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

export async function introspectAccessToken(token: string, opts: IntrospectionOptions): Promise<AccessToken> {
  if (JWT_SHAPE.test(token))
    throw new BearerError('invalid_token', 'this resource server accepts opaque access tokens only');
  const body = await fetchJson(await opts.endpoint(), {
    timeoutMs: opts.timeoutMs ?? 5000,
    init: {
      method: 'POST',
      headers: {
        authorization: basic(opts.clientId, opts.clientSecret),
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
    },
  });
  if (body.active !== true)
    throw new BearerError('invalid_token', 'the access token is not active (expired, revoked or unknown)');
  if (typeof body.token_type !== 'string' || body.token_type.toLowerCase() !== 'bearer') {
    throw new BearerError('invalid_token', 'not a bearer access token');
  }
  if (body.iss !== undefined && body.iss !== opts.issuer)
    throw new BearerError('invalid_token', 'the access token was not issued by the trusted issuer (iss)');
  const aud = Array.isArray(body.aud) ? body.aud : [body.aud];
  if (!aud.includes(opts.audience))
    throw new BearerError('invalid_token', 'the access token is not meant for this resource server (aud)');
  if (body.cnf !== undefined)
    throw new BearerError('invalid_token', 'sender-constrained access tokens are not accepted here');
  if (typeof body.sub !== 'string' || typeof body.client_id !== 'string' || typeof body.exp !== 'number') {
    throw new BearerError('invalid_token', 'the introspection response lacks sub, client_id or exp');
  }
  return {
    sub: body.sub,
    clientId: body.client_id,
    scopes: scopesOf(body.scope),
    roles: rolesOf(body.roles),
    exp: body.exp,
    claims: body,
    checkedBy: 'introspection',
  };
}
