/**
 * Rate limits on the back-channel endpoints (token, introspection, revocation), counted in the store (Redis in
 * production) so every instance shares the counts. Runs in the host app just before oidc-provider.
 *
 * Rules:
 * - Fixed windows of `windowSeconds`. Over the limit: 429, `Retry-After` (seconds to the end of the window) and
 *   the OAuth error JSON `{ "error": "temporarily_unavailable" }` through the one error renderer.
 * - Per client IP: every request counts, before anything else is done (the IP comes from the socket, or from
 *   X-Forwarded-For only when `trustProxy` is on).
 * - Per client: the client id comes from HTTP Basic auth, or from the `client_id` form field. Only requests the
 *   provider did not answer with 401 count towards a client, so that someone who merely names a client (without
 *   its secret) cannot use up that client's allowance; a client already over its limit is refused at once.
 * - Reading the form would consume the request stream oidc-provider parses itself, so the body is read (within
 *   `bodyLimit`, 413 beyond) and handed on as a fresh, complete IncomingMessage carrying the same bytes.
 * - A limit of 0 turns that dimension off.
 */
import { IncomingMessage } from 'node:http';
import type { Context, Middleware } from 'koa';
import type { ThrottleStore } from '../storage/types.ts';
import { readBytes } from './body.ts';
import { HttpError } from './errors.ts';

export interface RateLimitPolicy {
  readonly windowSeconds: number;
  readonly perClient: number;
  readonly perIp: number;
}

/** oidc-provider's default routes for the endpoints that are limited. */
export const LIMITED_PATHS: ReadonlySet<string> = new Set(['/token', '/token/introspection', '/token/revocation']);

const CLIENT_ID = /^[\x21-\x7e]{1,128}$/;

function clientFromBasic(header: string): string | undefined {
  const m = /^Basic ([A-Za-z0-9+/=]{1,2048})$/i.exec(header);
  if (!m) return undefined;
  const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 1) return undefined;
  try {
    // RFC 6749 2.3.1: the client id is form-encoded before it is put in the header.
    return decodeURIComponent(decoded.slice(0, colon).replaceAll('+', ' '));
  } catch {
    return undefined;
  }
}

/** A complete request with the same line, headers and socket as `req`, whose body is `body`. */
function replay(req: IncomingMessage, body: Buffer): IncomingMessage {
  const copy = new IncomingMessage(req.socket);
  copy.method = req.method as string;
  copy.url = req.url as string;
  copy.httpVersion = req.httpVersion;
  copy.httpVersionMajor = req.httpVersionMajor;
  copy.httpVersionMinor = req.httpVersionMinor;
  copy.headers = req.headers;
  copy.rawHeaders = req.rawHeaders;
  copy.complete = true;
  if (body.length > 0) copy.push(body);
  copy.push(null);
  return copy;
}

async function clientIdOf(ctx: Context, bodyLimit: number): Promise<string | undefined> {
  const fromHeader = clientFromBasic(ctx.get('authorization'));
  if (fromHeader !== undefined) return fromHeader;
  if (!ctx.is('application/x-www-form-urlencoded')) return undefined;
  const body = await readBytes(ctx.req, bodyLimit);
  ctx.req = replay(ctx.req, body);
  // Duplicated or malformed parameters are the provider's to refuse; only a single well-formed id counts here.
  const ids = new URLSearchParams(body.toString('latin1')).getAll('client_id');
  return ids.length === 1 ? ids[0] : undefined;
}

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
    if (policy.perIp > 0) {
      const n = await store.hit(`rate:ip:${ctx.ip}:${bucket}`, policy.windowSeconds);
      if (n > policy.perIp) refuse('ip', retryAfter);
    }
    const id = policy.perClient > 0 ? await clientIdOf(ctx, bodyLimit) : undefined;
    const clientKey = id !== undefined && CLIENT_ID.test(id) ? `rate:client:${id}:${bucket}` : undefined;
    if (clientKey && (await store.count(clientKey)) >= policy.perClient) refuse('client', retryAfter);
    await next();
    const status = ctx.respond === false ? ctx.res.statusCode : ctx.status;
    if (clientKey && status !== 401) await store.hit(clientKey, policy.windowSeconds);
  };
}
