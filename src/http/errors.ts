/**
 * The one place where an error becomes a response.
 *
 * - Errors that carry `status` < 500 and `expose` (oidc-provider's errors, HttpError below) are shown with their
 *   OAuth `error` code and description.
 * - Storage outages become 503 `temporarily_unavailable` with Retry-After.
 * - Anything else is a 500 `server_error` whose details go to the log only, never to the client.
 * - Browsers (Accept: text/html) get the error page; everyone else gets the OAuth error JSON.
 */
import type { Context, Middleware } from 'koa';
import type { Logger } from 'pino';
import { StorageUnavailable } from '../storage/types.ts';
import { cspNonce } from './security-headers.ts';
import type { Views } from './views.ts';

export class HttpError extends Error {
  readonly expose = true;
  readonly status: number;
  readonly error: string;
  readonly description: string;
  readonly headers: Record<string, string>;
  constructor(status: number, error: string, description: string, headers: Record<string, string> = {}) {
    super(description);
    this.name = 'HttpError';
    this.status = status;
    this.error = error;
    this.description = description;
    this.headers = headers;
  }
}

interface Shaped {
  status: number;
  error: string;
  description: string;
  headers: Record<string, string>;
}

export function shapeError(err: unknown): Shaped {
  if (err instanceof HttpError) return { status: err.status, error: err.error, description: err.description, headers: err.headers };
  if (err instanceof StorageUnavailable) {
    return { status: 503, error: 'temporarily_unavailable', description: 'storage is unavailable, try again shortly', headers: { 'Retry-After': '2' } };
  }
  const e = err as { status?: number; statusCode?: number; expose?: boolean; error?: string; error_description?: string; message?: string };
  const status = e.status ?? e.statusCode ?? 500;
  if (status >= 400 && status < 500 && e.expose !== false) {
    return {
      status,
      error: e.error ?? (status === 413 ? 'request_too_large' : 'invalid_request'),
      description: e.error_description ?? e.message ?? 'bad request',
      headers: {},
    };
  }
  if (status === 503) return { status, error: 'temporarily_unavailable', description: 'try again shortly', headers: { 'Retry-After': '2' } };
  return { status: 500, error: 'server_error', description: 'an unexpected error occurred', headers: {} };
}

export function renderErrorPage(ctx: Context, views: Views, error: string, description: string | undefined): void {
  ctx.type = 'html';
  ctx.body = views.render('error', 'Error', cspNonce(ctx.res), {
    error,
    description: description ?? '',
    requestId: ctx.get('x-request-id') || ctx.response.get('x-request-id'),
  });
}

export function errorRenderer(views: Views, log: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new HttpError(404, 'not_found', 'no such page');
      // oidc-provider renders its own errors (a storage outage: 503 temporarily_unavailable); add the retry hint.
      if (ctx.status === 503 && !ctx.response.get('Retry-After')) ctx.set('Retry-After', '2');
    } catch (err) {
      const shaped = shapeError(err);
      // A 5xx Gatehouse chose to answer (an HttpError, e.g. 503 when sign-ins are over capacity) is not a failure.
      if (shaped.status >= 500 && !(err instanceof HttpError)) log.error({ err, path: ctx.path }, 'request failed');
      ctx.status = shaped.status;
      ctx.set(shaped.headers);
      ctx.set('Cache-Control', 'no-store');
      if (ctx.accepts('json', 'html') === 'html') renderErrorPage(ctx, views, shaped.error, shaped.description);
      else ctx.body = { error: shaped.error, error_description: shaped.description };
    }
  };
}
