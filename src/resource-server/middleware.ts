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
 * - JWT mode keeps successful validations in a bounded LRU cache (token-cache.ts: exact token string as key,
 *   re-checked against exp on every hit, max age, emptied when the key set retires a key); a hit skips the
 *   signature check. While the key set is due for a reload the cache is bypassed, so the reload still happens.
 *   `tokenCacheSize: 0` turns it off. Introspection mode never caches: seeing revocation at once is its point.
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
import { type TokenCacheStats, VerifiedTokenCache } from './token-cache.ts';
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
  /** JWT mode: most validated tokens kept (LRU); 0 turns the cache off. Default 10,000. */
  tokenCacheSize?: number;
  /** JWT mode: longest a validation is reused, in ms, even if the token lives longer. Default 300,000 (5 min). */
  tokenCacheMaxAgeMs?: number;
}

const DEFAULT_TOKEN_CACHE_SIZE = 10_000;
const DEFAULT_TOKEN_CACHE_MAX_AGE_MS = 300_000;

export interface TokenGuard {
  readonly realm: string;
  readonly keys: KeySet;
  /** Checks a token outside Koa (e.g. a WebSocket upgrade). */
  check(token: string): Promise<AccessToken>;
  /** Counters of the validated-token cache (JWT mode). */
  cacheStats(): TokenCacheStats;
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
  const credentials = opts.introspection;
  if (mode === 'introspection' && !credentials)
    throw new Error('introspection mode needs the resource server client credentials');
  const clockToleranceSeconds = opts.clockToleranceSeconds ?? 5;
  const metadata = createMetadataSource({ issuer: opts.issuer, timeoutMs: opts.timeoutMs });
  const cache = new VerifiedTokenCache({
    maxEntries: mode === 'jwt' ? (opts.tokenCacheSize ?? DEFAULT_TOKEN_CACHE_SIZE) : 0,
    maxAgeMs: opts.tokenCacheMaxAgeMs ?? DEFAULT_TOKEN_CACHE_MAX_AGE_MS,
    clockToleranceSeconds,
    bypassWhile: () => keys.stale,
  });
  const keys: KeySet = new KeySet({
    jwksUri: async () => (await metadata()).jwks_uri,
    timeoutMs: opts.timeoutMs,
    maxAgeMs: opts.jwksMaxAgeMs,
    unknownKidCooldownMs: opts.unknownKidCooldownMs,
    onRetire: () => cache.clear(),
  });
  const introspectionEndpoint = async () => {
    const endpoint = (await metadata()).introspection_endpoint;
    if (!endpoint) throw new AuthorizationServerUnavailable('the authorization server does not offer introspection');
    return endpoint;
  };

  const jwtOptions = { issuer: opts.issuer, audience: opts.audience, keys, clockToleranceSeconds };
  const verifyJwt = async (token: string): Promise<AccessToken> => {
    const generation = cache.generation;
    const result = await verifyJwtAccessToken(token, jwtOptions);
    cache.set(token, result, generation);
    return result;
  };
  /** A cache hit is returned without a promise: the common case costs no microtask. */
  const checkJwt = (token: string): AccessToken | Promise<AccessToken> => cache.get(token) ?? verifyJwt(token);
  const check = async (token: string): Promise<AccessToken> =>
    mode === 'introspection' && credentials
      ? introspectAccessToken(token, {
          issuer: opts.issuer,
          audience: opts.audience,
          endpoint: introspectionEndpoint,
          clientId: credentials.clientId,
          clientSecret: credentials.clientSecret,
          timeoutMs: opts.timeoutMs,
        })
      : checkJwt(token);

  return {
    realm: opts.realm ?? opts.audience,
    keys,
    check,
    cacheStats: () => cache.stats(),
    authenticate(ctx, next) {
      // Synchronous until a promise appears (form body, or a token not in the cache): a cache hit on a GET
      // goes straight to the route without waiting a microtask. Errors always come back as a rejection.
      try {
        const raw = extractBearerToken(ctx);
        const checked =
          mode !== 'jwt'
            ? Promise.resolve(raw).then(check)
            : typeof raw === 'string'
              ? checkJwt(raw)
              : raw.then(checkJwt);
        if (checked instanceof Promise) {
          return checked.then((token) => {
            ctx.state.accessToken = token;
            ctx.set('Cache-Control', 'no-store');
            return next();
          });
        }
        ctx.state.accessToken = checked;
        ctx.set('Cache-Control', 'no-store');
        return next();
      } catch (err) {
        return Promise.reject(err);
      }
    },
    requireScope(...scopes) {
      const needed = scopes.join(' ');
      return (ctx, next) => {
        const token = current(ctx.state);
        if (!scopes.every((s) => token.scopes.has(s))) {
          return Promise.reject(
            new BearerError('insufficient_scope', `this endpoint requires scope ${needed}`, needed),
          );
        }
        return next();
      };
    },
    requireRole(role) {
      return (ctx, next) => {
        if (!current(ctx.state).roles.includes(role))
          return Promise.reject(new BearerError('insufficient_scope', `this endpoint requires the ${role} role`));
        return next();
      };
    },
  };
}
