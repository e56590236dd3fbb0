/**
 * Rate limits, counted in the store (Redis in production) so every instance shares the counts:
 * - `rateLimit`: the back-channel endpoints (token, introspection, revocation), per IP and per client. The host-app
 *   half runs just before oidc-provider; the provider half (`provider`, installed with `provider.use`) reports
 *   which client the provider authenticated.
 * - `browserRateLimit`: per IP, the endpoints where anyone can make Gatehouse store a record or check a password —
 *   the authorization endpoint (`/auth*`, an Interaction each), logout (`/session/end*`, a Session), the sign-in
 *   and consent POSTs, the device flow's code entry (`POST /device`) — and, in its own allowance, PAR (`POST /request`, a stored request). Every request counts.
 *
 * Rules of the back-channel limits:
 * Rules:
 * - Fixed windows of `windowSeconds`. Over the limit: 429, `Retry-After` (seconds to the end of the window) and
 *   the OAuth error JSON `{ "error": "temporarily_unavailable" }` through the one error renderer.
 * - Per client IP (IPv6 by /64: ./client-ip.ts): every request counts, before the provider sees it (the IP comes
 *   from the socket, or from X-Forwarded-For only when `trustProxy` is on). Its body (within `bodyLimit`) has
 *   been read by then.
 * - Per client: the client id comes from HTTP Basic auth, or from the `client_id` form field (./token-form.ts:
 *   read within `bodyLimit`, 413 beyond, and handed on intact). A request that carries client credentials (Basic,
 *   `client_secret`, `client_assertion`) counts towards the client; one that carries none (a public client) counts
 *   towards the client *and its IP* together, so a public client id, which anyone can send, gives no one else's
 *   allowance away.
 * - Only a request whose client the provider authenticated counts: any other outcome (401, a 400 before
 *   authentication such as an empty secret, a storage error while the client was looked up) gives its hit back.
 *   So naming a client without its secret cannot use up that client's allowance; a client already over its limit
 *   is refused at once.
 * - One round trip: both counters are incremented together before the request goes on, in the same tick as the
 *   storage prefetch of src/provider/oidc-internals.ts (on Redis they travel inside its script). A request that
 *   turns out not to count for the client gives its hit back afterwards (a second round trip only on those paths). An
 *   unauthenticated request therefore holds one unit of the client's allowance only while it is in flight.
 * - A limit of 0 turns that dimension off.
 * - `onLimit` learns every refusal with the client id the request named, for the audit trail and metrics
 *   (which label only registered clients).
 */
import type { IncomingMessage } from 'node:http';
import type { Context, Middleware, Next } from 'koa';
import type { ThrottleStore } from '../storage/types.ts';
import { addressKey } from '../web/client-ip.ts';
import { HttpError } from '../web/errors.ts';
import { LIMITED_PATHS, namedClient, tokenForm } from '../web/token-form.ts';

interface RateLimitPolicy {
  readonly windowSeconds: number;
  readonly perClient: number;
  readonly perIp: number;
}

type ProviderMiddleware = (
  ctx: { path: string; req: IncomingMessage; oidc?: { client?: { clientId: string } } },
  next: () => Promise<unknown>,
) => Promise<void>;

interface RateLimit {
  /** Host-app middleware, right before the provider. */
  readonly host: Middleware;
  /** oidc-provider middleware (`provider.use`): notes the client the provider authenticated. */
  readonly provider: ProviderMiddleware;
}

type LimitKind = 'client' | 'ip' | 'browser' | 'par';
type OnLimit = (kind: LimitKind, clientId: string | undefined) => Promise<void> | void;

/** Whether the request carries client credentials (the client claims to be confidential). */
async function hasCredentials(ctx: Context, limit: number): Promise<boolean> {
  if (ctx.get('authorization') !== '') return true;
  const form = await tokenForm(ctx, limit);
  return Boolean(form?.get('client_secret') || form?.get('client_assertion'));
}

/** Fixed-window bucket of now, and the seconds to its end (the Retry-After of a refusal). */
function windowOf(windowSeconds: number): { bucket: number; retryAfter: number } {
  const windowMs = windowSeconds * 1000;
  const now = Date.now();
  const bucket = Math.floor(now / windowMs);
  return { bucket, retryAfter: Math.max(1, Math.ceil(((bucket + 1) * windowMs - now) / 1000)) };
}

function refusal(onLimit: OnLimit | undefined) {
  return async (kind: LimitKind, retryAfter: number, clientId: string | undefined): Promise<never> => {
    await onLimit?.(kind, clientId);
    throw new HttpError(429, 'temporarily_unavailable', `too many requests, retry in ${retryAfter} seconds`, {
      'Retry-After': String(retryAfter),
    });
  };
}

export function rateLimit(
  store: ThrottleStore,
  policy: RateLimitPolicy,
  bodyLimit: number,
  onLimit?: OnLimit,
): RateLimit {
  /** The client the provider authenticated, per request (the IncomingMessage both apps share). */
  const authenticated = new WeakMap<IncomingMessage, string>();
  const refuse = refusal(onLimit);

  const host: Middleware = async (ctx, next) => {
    if (ctx.method !== 'POST' || !LIMITED_PATHS.has(ctx.path) || (policy.perIp === 0 && policy.perClient === 0))
      return next();
    const { bucket, retryAfter } = windowOf(policy.windowSeconds);
    const address = addressKey(ctx.ip);
    const id = await namedClient(ctx, bodyLimit);
    let clientKey: string | undefined;
    if (id !== undefined && policy.perClient > 0) {
      clientKey = (await hasCredentials(ctx, bodyLimit))
        ? `rate:client:${id}:${bucket}`
        : `rate:client:${id}@${address}:${bucket}`;
    }
    const [perIp, perClient] = await Promise.all([
      policy.perIp > 0 ? store.hit(`rate:ip:${address}:${bucket}`, policy.windowSeconds) : 0,
      clientKey ? store.hit(clientKey, policy.windowSeconds) : 0,
    ]);
    if (perIp > policy.perIp && policy.perIp > 0) {
      if (clientKey) await store.release(clientKey);
      await refuse('ip', retryAfter, id);
    }
    if (clientKey && perClient > policy.perClient) await refuse('client', retryAfter, id);
    try {
      await next();
    } finally {
      // Whatever happened inside the provider (an error thrown past it is rendered by the error renderer), the hit
      // stays only if the provider authenticated the client.
      if (clientKey && authenticated.get(ctx.req) !== id) await store.release(clientKey);
    }
  };

  const provider: ProviderMiddleware = async (ctx, next) => {
    let failed: unknown;
    try {
      await next();
    } catch (err) {
      failed = err;
      throw err;
    } finally {
      // oidc-provider sets the client entity once it found the client, before it checks the credentials; every
      // failed check is then an `invalid_client` (401). Errors after authentication keep the client counted.
      const client = LIMITED_PATHS.has(ctx.path) ? ctx.oidc?.client : undefined;
      const status =
        failed === undefined ? (ctx as unknown as Context).status : (failed as { statusCode?: number }).statusCode;
      if (client && status !== 401) authenticated.set(ctx.req, client.clientId);
    }
  };

  return { host, provider };
}

interface BrowserLimitPolicy {
  readonly windowSeconds: number;
  /** Requests per IP to /auth*, /session/end*, the interaction POSTs and the device code entry; 0 = off. */
  readonly browserPerIp: number;
  /** Pushed authorization requests per IP; 0 = off. */
  readonly parPerIp: number;
}

const BROWSER = /^\/(?:auth(?:\/[^/]*)?|session\/end(?:\/confirm)?)$/;
const INTERACTION_POST = /^\/interaction\/[^/]+\/(?:login|confirm|abort)$/;

/** Which per-IP allowance a request draws on, if any. */
function browserKind(method: string, path: string): 'browser' | 'par' | undefined {
  if (path === '/request') return method === 'POST' ? 'par' : undefined;
  if (BROWSER.test(path)) return 'browser';
  if (method === 'POST' && INTERACTION_POST.test(path)) return 'browser';
  // The device flow's user-code entry (RFC 8628 5.1: guessing codes must be throttled).
  if (method === 'POST' && path === '/device') return 'browser';
  return undefined;
}

/**
 * Per-IP limits on the browser endpoints and PAR. Put it before the interaction routes and the provider.
 * A form POST the provider will parse (PAR, logout confirmation) is read first (./token-form.ts: within
 * `bodyLimit`, handed on intact): a body broken while the counter is being incremented then is a 400 here, not a
 * stream the provider finds already failed.
 */
export function browserRateLimit(
  store: ThrottleStore,
  policy: BrowserLimitPolicy,
  bodyLimit: number,
  onLimit?: OnLimit,
): Middleware {
  const refuse = refusal(onLimit);
  const count = async (ctx: Context, next: Next, kind: 'par' | 'browser', limit: number) => {
    if (ctx.method === 'POST' && !INTERACTION_POST.test(ctx.path)) await tokenForm(ctx, bodyLimit);
    const { bucket, retryAfter } = windowOf(policy.windowSeconds);
    const hits = await store.hit(`rate:${kind}:${addressKey(ctx.ip)}:${bucket}`, policy.windowSeconds);
    if (hits > limit) await refuse(kind, retryAfter, undefined);
    return next();
  };
  return (ctx, next) => {
    const kind = browserKind(ctx.method, ctx.path);
    const limit = kind === 'par' ? policy.parPerIp : kind === 'browser' ? policy.browserPerIp : 0;
    return kind && limit > 0 ? count(ctx, next, kind, limit) : next();
  };
}
