/**
 * Opens the storage scope of a back-channel request (token, introspection, revocation — see
 * src/storage/prefetch-scope.ts) and asks the store to start reading what oidc-provider will look up: the named
 * client's stored record and, for a refresh-token grant, the refresh token with its Grant, account and session.
 * It runs in the same tick as the rate limiter's counters, so all of it travels in one Redis round trip, and the
 * provider then finds it already read (src/storage/redis/adapter.ts).
 *
 * Rules:
 * - Only the limited back-channel POSTs open a scope; nothing is read for anything else.
 * - The prefetch is only a read: the provider still validates everything (client authentication, expiry, grant,
 *   account, session, consumed state) exactly as without it; a token that is not exactly one `refresh_token`
 *   parameter is not prefetched.
 * - Must run before the rate limiter, which counts in the same tick.
 */
import type { Middleware } from 'koa';
import { LIMITED_PATHS, namedClient, tokenForm } from '../web/token-form.ts';
import { withStorageScope } from '../storage/prefetch-scope.ts';
import type { Store } from '../storage/types.ts';

export function tokenPrefetch(store: Store, bodyLimit: number): Middleware {
  return (ctx, next) => {
    if (ctx.method !== 'POST' || !LIMITED_PATHS.has(ctx.path)) return next();
    return withStorageScope(async () => {
      const form = await tokenForm(ctx, bodyLimit);
      const clientId = await namedClient(ctx, bodyLimit);
      const tokens = ctx.path === '/token' && form?.get('grant_type') === 'refresh_token' ? form.getAll('refresh_token') : [];
      store.prefetch({ clientId, refreshToken: tokens.length === 1 ? tokens[0] : undefined });
      await next();
    });
  };
}
