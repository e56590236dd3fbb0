/**
 * Rate limits on the back-channel endpoints (token, introspection, revocation), counted in the store (Redis in
 * production) so every instance shares the counts. Runs in the host app just before oidc-provider.
 *
 * Rules:
 * - Fixed windows of `windowSeconds`. Over the limit: 429, `Retry-After` (seconds to the end of the window) and
 *   the OAuth error JSON `{ "error": "temporarily_unavailable" }` through the one error renderer.
 * - Per client IP: every request counts, before the provider sees it (the IP comes from the socket, or from
 *   X-Forwarded-For only when `trustProxy` is on). Its body (within `bodyLimit`) has been read by then.
 * - Per client: the client id comes from HTTP Basic auth, or from the `client_id` form field (./token-form.ts:
 *   read within `bodyLimit`, 413 beyond, and handed on intact). Only requests the provider did not answer with
 *   401 count towards a client, so that someone who merely names a client (without its secret) cannot use up
 *   that client's allowance; a client already over its limit is refused at once.
 * - One round trip: both counters are incremented together before the request goes on (auto-pipelined into
 *   one write, together with the storage prefetch of src/provider/token-prefetch.ts). A request that turns out not to count for the client
 *   — answered 401, or refused for its IP — gives its client hit back afterwards (a second round trip only on
 *   those paths). So a request with wrong credentials holds one unit of the client's allowance only while it
 *   is in flight (milliseconds).
 * - A limit of 0 turns that dimension off.
 */
import type { Middleware } from 'koa';
import type { ThrottleStore } from '../storage/types.ts';
import { HttpError } from './errors.ts';
import { namedClient } from './token-form.ts';

export interface RateLimitPolicy {
  readonly windowSeconds: number;
  readonly perClient: number;
  readonly perIp: number;
}

/** oidc-provider's default routes for the endpoints that are limited. */
export const LIMITED_PATHS: ReadonlySet<string> = new Set(['/token', '/token/introspection', '/token/revocation']);

const CLIENT_ID = /^[\x21-\x7e]{1,128}$/;

export function rateLimit(store: ThrottleStore, policy: RateLimitPolicy, bodyLimit: number, onLimit?: (kind: 'client' | 'ip') => void): Middleware {
  const windowMs = policy.windowSeconds * 1000;
  const window = () => {
    const now = Date.now();
    const bucket = Math.floor(now / windowMs);
    return { bucket, retryAfter: Math.max(1, Math.ceil(((bucket + 1) * windowMs - now) / 1000)) };
  };
  const refuse = (kind: 'client' | 'ip', retryAfter: number): never => {
    onLimit?.(kind);
    throw new HttpError(429, 'temporarily_unavailable', `too many requests, retry in ${retryAfter} seconds`, { 'Retry-After': String(retryAfter) });
  };

  return async (ctx, next) => {
    if (ctx.method !== 'POST' || !LIMITED_PATHS.has(ctx.path) || (policy.perIp === 0 && policy.perClient === 0)) return next();
    const { bucket, retryAfter } = window();
    const id = policy.perClient > 0 ? await namedClient(ctx, bodyLimit) : undefined;
    const clientKey = id !== undefined && CLIENT_ID.test(id) ? `rate:client:${id}:${bucket}` : undefined;
    const [perIp, perClient] = await Promise.all([
      policy.perIp > 0 ? store.hit(`rate:ip:${ctx.ip}:${bucket}`, policy.windowSeconds) : 0,
      clientKey ? store.hit(clientKey, policy.windowSeconds) : 0,
    ]);
    if (perIp > policy.perIp && policy.perIp > 0) {
      if (clientKey) await store.release(clientKey);
      refuse('ip', retryAfter);
    }
    if (clientKey && perClient > policy.perClient) refuse('client', retryAfter);
    let counts = true;
    try {
      await next();
      counts = (ctx.respond === false ? ctx.res.statusCode : ctx.status) !== 401;
    } finally {
      // An error thrown past the provider is rendered by the error renderer; it still was a request of the client.
      if (clientKey && !counts) await store.release(clientKey);
    }
  };
}
