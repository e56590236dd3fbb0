/**
 * The one place where an error becomes a response.
 *
 * - Errors that carry `status` < 500 and `expose` (oidc-provider's errors, HttpError below) are shown with their
 *   OAuth `error` code and description.
 * - Storage outages become 503 `temporarily_unavailable` with Retry-After.
 * - Anything else is a 500 `server_error` whose details go to the log only, never to the client.
 * - Browsers (Accept: text/html) get the error page; everyone else gets the OAuth error JSON.
 * - The error page says in plain words what happened and what to do, in the page's language; the OAuth code and
 *   description are small print for support. Its one link leads to a registered client's own site (never to an
 *   address taken from the request).
 */
import type { Context, Middleware } from 'koa';
import type { Logger } from 'pino';
import { STORAGE_UNAVAILABLE, StorageUnavailable } from '../storage/types.ts';

const RETRY_AFTER = { 'Retry-After': String(STORAGE_UNAVAILABLE.retryAfterSeconds) };
import { cspNonce } from './security-headers.ts';
import { escapeHtml } from './html.ts';
import type { Language } from '../config/languages.ts';
import type { Views } from './views.ts';

/** What the error page explains; each has a heading, a "what happened" and a "what to do" in the catalogues. */
type ErrorKind = 'expired' | 'unknownClient' | 'badRedirect' | 'notFound' | 'unavailable' | 'server' | 'badRequest';

/** A registered client's site, for the error page's way back. */
export interface ClientSite {
  name: string;
  url: string;
}

interface ErrorPageHints {
  kind?: ErrorKind;
  back?: ClientSite;
  language?: Language;
}

export class HttpError extends Error {
  readonly expose = true;
  readonly status: number;
  readonly error: string;
  readonly description: string;
  readonly headers: Record<string, string>;
  /** How the error page explains it, when the code alone does not say. */
  readonly page: ErrorPageHints;
  constructor(
    status: number,
    error: string,
    description: string,
    headers: Record<string, string> = {},
    page: ErrorPageHints = {},
  ) {
    super(description);
    this.name = 'HttpError';
    this.status = status;
    this.error = error;
    this.description = description;
    this.headers = headers;
    this.page = page;
  }
}

interface Shaped {
  status: number;
  error: string;
  description: string;
  headers: Record<string, string>;
}

export function shapeError(err: unknown): Shaped {
  if (err instanceof HttpError)
    return { status: err.status, error: err.error, description: err.description, headers: err.headers };
  if (err instanceof StorageUnavailable) {
    return {
      status: 503,
      error: 'temporarily_unavailable',
      description: STORAGE_UNAVAILABLE.description,
      headers: RETRY_AFTER,
    };
  }
  const e = err as {
    status?: number;
    statusCode?: number;
    expose?: boolean;
    error?: string;
    error_description?: string;
    message?: string;
  };
  const status = e.status ?? e.statusCode ?? 500;
  if (status >= 400 && status < 500 && e.expose !== false) {
    return {
      status,
      error: e.error ?? (status === 413 ? 'request_too_large' : 'invalid_request'),
      description: e.error_description ?? e.message ?? 'bad request',
      headers: {},
    };
  }
  if (status === 503)
    return { status, error: 'temporarily_unavailable', description: 'try again shortly', headers: RETRY_AFTER };
  return { status: 500, error: 'server_error', description: 'an unexpected error occurred', headers: {} };
}

/** The page's explanation of an error: by what the error is, then by its OAuth code. */
export function errorKind(err: unknown, error: string, description: string | undefined): ErrorKind {
  if (err instanceof HttpError && err.page.kind) return err.page.kind;
  // oidc-provider's SessionNotFound: the interaction or its cookie is gone, typically after the Back button.
  if ((err as { name?: unknown } | undefined)?.name === 'SessionNotFound') return 'expired';
  if (error === 'invalid_client') return 'unknownClient';
  if (error === 'invalid_redirect_uri' || description?.startsWith('post_logout_redirect_uri')) return 'badRedirect';
  if (error === 'not_found') return 'notFound';
  if (error === 'temporarily_unavailable') return 'unavailable';
  if (error === 'server_error') return 'server';
  return 'badRequest';
}

interface ErrorPage {
  error: string;
  description?: string | undefined;
  kind: ErrorKind;
  language: Language;
  back?: ClientSite | undefined;
}

export function renderErrorPage(ctx: Context, views: Views, page: ErrorPage): void {
  const m = views.messages(page.language);
  const brand = views.brandName;
  ctx.type = 'html';
  ctx.body = views.render(
    'error',
    { language: page.language, nonce: cspNonce(ctx.res), title: m.html(`error.${page.kind}.heading`) },
    {
      heading: m.html(`error.${page.kind}.heading`),
      what: m.html(`error.${page.kind}.what`, { brand }),
      todo: m.html(`error.${page.kind}.todo`, { brand }),
      backLink: page.back
        ? `<p><a class="primary" href="${escapeHtml(page.back.url)}">${m.html('error.back', { client: page.back.name })}</a></p>`
        : '',
      error: page.error,
      description: page.description ? ` — ${escapeHtml(page.description)}` : '',
      requestId: ctx.get('x-request-id') || ctx.response.get('x-request-id'),
    },
  );
}

export function errorRenderer(views: Views, log: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new HttpError(404, 'not_found', 'no such page');
      // oidc-provider renders its own errors (a storage outage: 503 temporarily_unavailable); add the retry hint.
      if (ctx.status === 503 && !ctx.response.get('Retry-After')) ctx.set(RETRY_AFTER);
    } catch (err) {
      const shaped = shapeError(err);
      // A 5xx Gatehouse chose to answer (an HttpError, e.g. 503 when sign-ins are over capacity) is not a failure.
      if (shaped.status >= 500 && !(err instanceof HttpError)) log.error({ err, path: ctx.path }, 'request failed');
      ctx.status = shaped.status;
      ctx.set(shaped.headers);
      ctx.set('Cache-Control', 'no-store');
      if (ctx.accepts('json', 'html') === 'html') {
        const hints = err instanceof HttpError ? err.page : {};
        renderErrorPage(ctx, views, {
          error: shaped.error,
          description: shaped.description,
          kind: errorKind(err, shaped.error, shaped.description),
          language: hints.language ?? views.language({ acceptLanguage: ctx.get('accept-language') }),
          back: hints.back,
        });
      } else ctx.body = { error: shaped.error, error_description: shaped.description };
    }
  };
}
