/**
 * The reusable part: Koa middleware that lets any resource server trust Gatehouse knowing only its issuer URL.
 *
 *   const guard = createTokenGuard({ issuer: 'https://id.example.com', audience: 'https://api.example.com' });
 *   app.use(bearerErrorRenderer(guard.realm, log));
 *   router: guard.authenticate, guard.requireScope('api:read'), handler (ctx.state.accessToken)
 *
 * Rules:
 * - `authenticate` finds the token (RFC 6750 section 2, see extract-token.ts) and checks it either locally as an
 *   RFC 9068 JWT (default: keys from discovery, cached) or by introspection (RFC 7662, see introspect.ts).
 *   The result is `ctx.state.accessToken` (AccessToken).
 * - `requireScope` answers 403 insufficient_scope naming the scope; `requireRole` answers 403 insufficient_scope
 *   for a missing role (roles are a Gatehouse claim, not a scope, so no `scope` is named).
 * - Errors are thrown as BearerError; bearerErrorRenderer turns them into RFC 6750 responses.
 */
import type { Middleware } from 'koa';
import type { AccessToken } from './access-token.ts';
import { AuthorizationServerUnavailable, BearerError } from './bearer-error.ts';
import { extractBearerToken } from './extract-token.ts';
import { introspectAccessToken } from './introspect.ts';
import { createMetadataSource } from './issuer-metadata.ts';
import { KeySet } from './key-set.ts';
import { verifyJwtAccessToken } from './verify-jwt.ts';

export interface TokenGuardOptions {
  /** Gatehouse's issuer URL: the only thing the resource server needs to know about it. */
  issuer: string;
  /** This resource server's identifier, as registered at Gatehouse (the token's `aud`). */
  audience: string;
  /** `realm` of WWW-Authenticate; defaults to the audience. */
  realm?: string;
  /** `jwt` (default): stateless, valid until exp. `introspection`: one call per request, sees revocation at once. */
  mode?: 'jwt' | 'introspection';
  /** Client credentials of this resource server at Gatehouse (introspection mode). */
  introspection?: { clientId: string; clientSecret: string };
  clockToleranceSeconds?: number;
  timeoutMs?: number;
  jwksMaxAgeMs?: number;
  unknownKidCooldownMs?: number;
}

export interface TokenGuard {
  readonly realm: string;
  readonly keys: KeySet;
  /** Checks a token outside Koa (e.g. a WebSocket upgrade). */
  check(token: string): Promise<AccessToken>;
  authenticate: Middleware;
  requireScope(...scopes: string[]): Middleware;
  requireRole(role: string): Middleware;
}

function current(state: Record<string, unknown>): AccessToken {
  const token = state.accessToken as AccessToken | undefined;
  if (!token) throw new Error('requireScope/requireRole used without authenticate before it');
  return token;
}

export function createTokenGuard(opts: TokenGuardOptions): TokenGuard {
  const mode = opts.mode ?? 'jwt';
  if (mode === 'introspection' && !opts.introspection) throw new Error('introspection mode needs the resource server client credentials');
  const metadata = createMetadataSource({ issuer: opts.issuer, timeoutMs: opts.timeoutMs });
  const keys = new KeySet({
    jwksUri: async () => (await metadata()).jwks_uri,
    timeoutMs: opts.timeoutMs,
    maxAgeMs: opts.jwksMaxAgeMs,
    unknownKidCooldownMs: opts.unknownKidCooldownMs,
  });
  const introspectionEndpoint = async () => {
    const endpoint = (await metadata()).introspection_endpoint;
    if (!endpoint) throw new AuthorizationServerUnavailable('the authorization server does not offer introspection');
    return endpoint;
  };

  const check = (token: string): Promise<AccessToken> =>
    mode === 'jwt'
      ? verifyJwtAccessToken(token, { issuer: opts.issuer, audience: opts.audience, keys, clockToleranceSeconds: opts.clockToleranceSeconds })
      : introspectAccessToken(token, {
          issuer: opts.issuer,
          audience: opts.audience,
          endpoint: introspectionEndpoint,
          clientId: opts.introspection?.clientId as string,
          clientSecret: opts.introspection?.clientSecret as string,
          timeoutMs: opts.timeoutMs,
        });

  return {
    realm: opts.realm ?? opts.audience,
    keys,
    check,
    async authenticate(ctx, next) {
      ctx.state.accessToken = await check(await extractBearerToken(ctx));
      ctx.set('Cache-Control', 'no-store');
      await next();
    },
    requireScope(...scopes) {
      return async (ctx, next) => {
        const token = current(ctx.state);
        const missing = scopes.filter((s) => !token.scopes.has(s));
        if (missing.length > 0) throw new BearerError('insufficient_scope', `this endpoint requires scope ${scopes.join(' ')}`, scopes.join(' '));
        await next();
      };
    },
    requireRole(role) {
      return async (ctx, next) => {
        if (!current(ctx.state).roles.includes(role)) throw new BearerError('insufficient_scope', `this endpoint requires the ${role} role`);
        await next();
      };
    },
  };
}
