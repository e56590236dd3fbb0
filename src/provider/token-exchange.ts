/**
 * Token exchange (RFC 8693): a resource server holding a user's access token gets a token for a downstream
 * service, to call it on the user's behalf. A custom grant of oidc-provider at the token endpoint.
 *
 * Rules:
 * - The calling client registers the grant type `urn:ietf:params:oauth:grant-type:token-exchange`, authenticates
 *   (public clients may not exchange) and carries the policy `token_exchange: { audiences, scopes }` in its
 *   metadata. Without the policy it is refused `unauthorized_client` (RFC 8693 2.2.2 → RFC 6749 5.2).
 * - The subject token is an RFC 9068 access token Gatehouse issued (signature by a published key, `iss`, `exp`,
 *   `typ: at+jwt`) for a resource server the calling client serves (`resource_server_for`), of an account that
 *   exists and is enabled. Anything else, a token of another issuer or for another audience included, is
 *   `invalid_grant`. `subject_token_type` must be `urn:ietf:params:oauth:token-type:access_token`.
 * - The target (`audience` or `resource`, one of them, once) must be a configured resource server listed in the
 *   policy's `audiences`, else `invalid_target`. Requested scopes must be in the policy's `scopes` and among the
 *   target's scopes, else `invalid_scope`; without `scope` the new token gets every scope that passes both. Scopes
 *   belong to one resource server each, so the subject token's (for the caller) say nothing about the target's:
 *   the operator's policy is what bounds the exchange.
 * - `actor_token` (optional, delegation): an access token Gatehouse issued to the calling client itself (e.g. its
 *   client-credentials token); the issued token then carries `act: { sub: <client id> }` (RFC 8693 4.1), nesting
 *   an `act` the subject token already had.
 * - The issued token is an RFC 9068 JWT for the target, signed like every access token, living the target's
 *   access-token lifetime but never longer than the subject token. Each exchange is one `token.exchanged` audit line.
 */
import { randomUUID } from 'node:crypto';
import { createLocalJWKSet, importJWK, type JWK, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import type Provider from 'oidc-provider';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { AccountService } from '../accounts/service.ts';
import type { Audit } from '../audit/audit.ts';
import type { Config } from '../config/types.ts';
import { clientMetadata } from './client-metadata.ts';
import { type PrivateJwks, signingKeyFor } from './keys.ts';

const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const PARAMETERS = [
  'subject_token',
  'subject_token_type',
  'actor_token',
  'actor_token_type',
  'audience',
  'resource',
  'scope',
  'requested_token_type',
];

interface TokenExchangePolicy {
  readonly audiences: readonly string[];
  readonly scopes: readonly string[];
}

/** Validates the `token_exchange` client metadata (extraClientMetadata validator). */
export function validateTokenExchangePolicy(config: Config, value: unknown, metadata: Record<string, unknown>): void {
  if (value === undefined) return;
  const policy = value as Partial<Record<keyof TokenExchangePolicy, unknown>>;
  const isList = (v: unknown) => Array.isArray(v) && v.every((s) => typeof s === 'string' && s.length > 0);
  if (typeof value !== 'object' || value === null || !isList(policy.audiences) || !isList(policy.scopes)) {
    throw new Error('token_exchange must be { "audiences": [string], "scopes": [string] }');
  }
  const unknown = (policy.audiences as string[]).filter(
    (a) => !config.resourceServers.some((rs) => rs.identifier === a),
  );
  if (unknown.length > 0)
    throw new Error(`token_exchange.audiences must name configured resource servers: ${unknown.join(', ')}`);
  if (metadata.token_endpoint_auth_method === 'none') throw new Error('token_exchange needs a confidential client');
}

type Claims = JWTPayload & { client_id?: string; scope?: string; act?: Record<string, unknown> };

interface TokenExchangeDeps {
  config: Config;
  jwks: PrivateJwks;
  accounts: AccountService;
  audit: Audit;
}

function single(ctx: KoaContextWithOIDC, name: string): string | undefined {
  const value = (ctx.oidc.params as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

export function registerTokenExchange(provider: Provider, deps: TokenExchangeDeps): void {
  const { config } = deps;
  const publicKeys = createLocalJWKSet({
    keys: deps.jwks.keys.map(({ d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub }) => pub as JWK),
  });
  const signingJwk = signingKeyFor(deps.jwks, config.signing.accessTokenAlg);
  const signingKey = importJWK(signingJwk, signingJwk.alg);

  async function ourAccessToken(value: string, what: string): Promise<Claims & { sub: string; exp: number }> {
    try {
      const { payload } = await jwtVerify<Claims>(value, publicKeys, {
        issuer: config.issuer,
        typ: 'at+jwt',
        requiredClaims: ['exp', 'sub'],
      });
      const { sub, exp } = payload;
      if (typeof sub === 'string' && typeof exp === 'number') return { ...payload, sub, exp };
    } catch {
      // refused below, whatever the reason
    }
    throw new errors.InvalidGrant(`${what} is not a valid access token of this issuer`);
  }

  provider.registerGrantType(
    TOKEN_EXCHANGE_GRANT,
    async (ctx) => {
      const client = ctx.oidc.client;
      if (!client) throw new errors.InvalidClient('client not found');
      const meta = clientMetadata(client) as Record<string, unknown>;
      const policy = meta.token_exchange as TokenExchangePolicy | undefined;
      if (!policy || client.clientAuthMethod === 'none')
        throw new errors.UnauthorizedClient('this client has no token exchange policy');

      const subjectToken = single(ctx, 'subject_token');
      if (!subjectToken) throw new errors.InvalidRequest('missing subject_token');
      if (single(ctx, 'subject_token_type') !== ACCESS_TOKEN_TYPE)
        throw new errors.InvalidRequest(`subject_token_type must be ${ACCESS_TOKEN_TYPE}`);
      const requestedType = single(ctx, 'requested_token_type');
      if (requestedType !== undefined && requestedType !== ACCESS_TOKEN_TYPE)
        throw new errors.InvalidRequest(`requested_token_type must be ${ACCESS_TOKEN_TYPE}`);

      const subject = await ourAccessToken(subjectToken, 'subject_token');
      const served = (meta.resource_server_for as string[] | undefined) ?? [];
      const subjectAudiences = Array.isArray(subject.aud) ? subject.aud : subject.aud ? [subject.aud] : [];
      if (!subjectAudiences.some((a) => served.includes(a)))
        throw new errors.InvalidGrant('subject_token was not issued for a resource server this client serves');
      const account = await deps.accounts.findById(subject.sub);
      if (!account || account.disabled)
        throw new errors.InvalidGrant('subject_token does not belong to an active account');

      let act: Record<string, unknown> | undefined;
      const actorToken = single(ctx, 'actor_token');
      if (actorToken) {
        if (single(ctx, 'actor_token_type') !== ACCESS_TOKEN_TYPE)
          throw new errors.InvalidRequest(`actor_token_type must be ${ACCESS_TOKEN_TYPE}`);
        const actor = await ourAccessToken(actorToken, 'actor_token');
        if (actor.client_id !== client.clientId)
          throw new errors.InvalidGrant('actor_token was not issued to this client');
        act = { sub: client.clientId, ...(subject.act ? { act: subject.act } : {}) };
      } else if (single(ctx, 'actor_token_type')) {
        throw new errors.InvalidRequest('actor_token_type without actor_token');
      }

      const targets = [single(ctx, 'audience'), single(ctx, 'resource')].filter((v) => v !== undefined);
      if (targets.length !== 1) throw new errors.InvalidTarget('name exactly one target: audience or resource');
      const [target] = targets;
      if (target === undefined) throw new errors.InvalidTarget('name exactly one target: audience or resource');
      const server = config.resourceServers.find((rs) => rs.identifier === target);
      if (!server || !policy.audiences.includes(target))
        throw new errors.InvalidTarget('this client may not obtain tokens for this target');

      const grantable = (s: string) => policy.scopes.includes(s) && server.scopes.includes(s);
      const requested = single(ctx, 'scope')?.split(' ').filter(Boolean);
      const refused = requested?.filter((s) => !grantable(s)) ?? [];
      if (refused.length > 0)
        throw new errors.InvalidScope("requested scope is outside this client's exchange policy", refused.join(' '));
      const scopes = requested ?? server.scopes.filter(grantable);
      if (scopes.length === 0)
        throw new errors.InvalidScope('no scope of the target may be exchanged for', server.scopes.join(' '));

      const now = Math.floor(Date.now() / 1000);
      const lifetime = Math.min(server.accessTokenTTL ?? config.ttl.accessToken, subject.exp - now);
      if (lifetime <= 0) throw new errors.InvalidGrant('subject_token is expired');
      const token = await new SignJWT({ client_id: client.clientId, scope: scopes.join(' '), ...(act ? { act } : {}) })
        .setProtectedHeader({ alg: signingJwk.alg, kid: signingJwk.kid, typ: 'at+jwt' })
        .setIssuer(config.issuer)
        .setSubject(subject.sub)
        .setAudience(target)
        .setIssuedAt(now)
        .setExpirationTime(now + lifetime)
        .setJti(randomUUID())
        .sign(await signingKey);

      deps.audit('token.exchanged', {
        clientId: client.clientId,
        sub: subject.sub,
        audience: target,
        kind: act ? 'delegation' : 'impersonation',
      });
      ctx.set('Cache-Control', 'no-store');
      ctx.body = {
        access_token: token,
        issued_token_type: ACCESS_TOKEN_TYPE,
        token_type: 'Bearer',
        expires_in: lifetime,
        scope: scopes.join(' '),
      };
    },
    PARAMETERS,
  );
}
