/**
 * Opens the storage scope of a token request (src/storage/request-scope.ts) and, for a refresh-token grant,
 * asks the store to start reading the refresh token, its Grant and its account at once — in the same tick as
 * the rate limiter's counters, so both travel in one Redis round trip. oidc-provider then finds them already
 * read (see src/storage/redis/adapter.ts).
 *
 * Rules:
 * - Only POST /token opens a scope; nothing is read for anything else.
 * - The prefetch is only a read: the provider still validates everything (client, expiry, grant, account,
 *   consumed state) exactly as without it, and a token that is not exactly one well-formed `refresh_token`
 *   parameter is not prefetched at all.
 * - Must run before the rate limiter, which counts in the same tick.
 */
import type { Middleware } from 'koa';
import { tokenForm } from '../http/token-form.ts';
import { withStorageScope } from '../storage/request-scope.ts';
import type { Store } from '../storage/types.ts';

/** oidc-provider's token route (its default, not overridden in createProvider). */
const TOKEN_PATH = '/token';

export function refreshPrefetch(store: Store, bodyLimit: number): Middleware {
  return (ctx, next) => {
    if (ctx.method !== 'POST' || ctx.path !== TOKEN_PATH) return next();
    return withStorageScope(async () => {
      const form = await tokenForm(ctx, bodyLimit);
      const tokens = form?.get('grant_type') === 'refresh_token' ? form.getAll('refresh_token') : [];
      if (tokens.length === 1) store.prefetchRefresh(tokens[0] as string);
      await next();
    });
  };
}
