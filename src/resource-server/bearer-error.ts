/**
 * RFC 6750 section 3 errors of a protected API, and the one middleware that renders them (and every other error)
 * as JSON.
 *
 * Rules:
 * - No credentials at all: 401 with `WWW-Authenticate: Bearer realm="..."` and NO error code (section 3.1: a client
 *   that did not try gets no error detail).
 * - `invalid_request` 400, `invalid_token` 401, `insufficient_scope` 403 (with the `scope` needed, when a scope is
 *   what is missing). The header carries the same error as the JSON body.
 * - A request the API cannot read (an oversized body) is its 4xx (`RequestError`); another exposed 4xx (Koa's, the
 *   API's own) is shown as it is; an unreachable authorization server is 503 with Retry-After; anything else is a
 *   500 `server_error` without details (details go to the log only).
 * - This directory imports nothing from the authorization server: the guard can be copied or published alone.
 */
import type { Context, Middleware } from 'koa';
import type { Logger } from 'pino';

type BearerErrorCode = 'invalid_request' | 'invalid_token' | 'insufficient_scope';

const STATUS: Record<BearerErrorCode, number> = { invalid_request: 400, invalid_token: 401, insufficient_scope: 403 };

export class BearerError extends Error {
  readonly expose = true;
  /** Undefined for "no credentials were sent" (401 without an error code). */
  readonly code: BearerErrorCode | undefined;
  readonly status: number;
  readonly description: string;
  /** The scope that would have been enough (insufficient_scope only). */
  readonly scope: string | undefined;
  constructor(code: BearerErrorCode | undefined, description: string, scope?: string) {
    super(description);
    this.name = 'BearerError';
    this.code = code;
    this.status = code ? STATUS[code] : 401;
    this.description = description;
    this.scope = scope;
  }
}

/** The authorization server cannot be reached (discovery, JWKS or introspection): not the client's fault. */
export class AuthorizationServerUnavailable extends Error {
  readonly status = 503;
  readonly expose = true;
  override name = 'AuthorizationServerUnavailable';
}

/** A request the API cannot read, e.g. a body over the limit (413): the client's error, not a token problem. */
export class RequestError extends Error {
  readonly expose = true;
  readonly status: number;
  readonly error = 'invalid_request';
  constructor(status: number, description: string) {
    super(description);
    this.name = 'RequestError';
    this.status = status;
  }
}

interface Shaped {
  status: number;
  error: string;
  description: string;
}

/** Every error that is not a BearerError or an unreachable authorization server, as the JSON the API answers. */
function shapeError(err: unknown): Shaped {
  const e = err as { status?: unknown; expose?: unknown; error?: unknown; message?: unknown } | null | undefined;
  const status = typeof e?.status === 'number' ? e.status : 500;
  if (status >= 400 && status < 500 && e?.expose === true) {
    return {
      status,
      error: typeof e.error === 'string' ? e.error : status === 404 ? 'not_found' : 'invalid_request',
      description: typeof e.message === 'string' ? e.message : 'bad request',
    };
  }
  return { status: 500, error: 'server_error', description: 'an unexpected error occurred' };
}

/** Quotes an auth-param value. RFC 6750 3 allows only %x20-21 / %x23-5B / %x5D-7E inside: no quote, no backslash. */
function quoted(value: string): string {
  return `"${value.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '')}"`;
}

function wwwAuthenticate(realm: string, err: BearerError): string {
  const params = [`realm=${quoted(realm)}`];
  if (err.code) {
    params.push(`error=${quoted(err.code)}`, `error_description=${quoted(err.description)}`);
    if (err.scope) params.push(`scope=${quoted(err.scope)}`);
  }
  return `Bearer ${params.join(', ')}`;
}

/** Renders errors of a JSON API protected by bearer tokens. Put it first (after logging) in the app. */
export function bearerErrorRenderer(realm: string, log: Logger): Middleware {
  const render = (ctx: Context, err: unknown): void => {
    ctx.set('Cache-Control', 'no-store');
    if (err instanceof BearerError) {
      ctx.status = err.status;
      ctx.set('WWW-Authenticate', wwwAuthenticate(realm, err));
      ctx.body = err.code
        ? { error: err.code, error_description: err.description, ...(err.scope ? { scope: err.scope } : {}) }
        : { error_description: err.description };
      return;
    }
    if (err instanceof AuthorizationServerUnavailable) {
      log.warn({ reason: err.message }, 'authorization server unavailable');
      ctx.status = 503;
      ctx.set('Retry-After', '5');
      ctx.body = {
        error: 'temporarily_unavailable',
        error_description: 'cannot verify tokens right now, try again shortly',
      };
      return;
    }
    const shaped = shapeError(err);
    if (shaped.status >= 500) log.error({ err, path: ctx.path }, 'request failed');
    ctx.status = shaped.status;
    ctx.body = { error: shaped.error, error_description: shaped.description };
  };
  const notFound = (ctx: Context): void => {
    if (ctx.status === 404 && ctx.body === undefined) {
      ctx.status = 404;
      ctx.body = { error: 'not_found', error_description: 'no such endpoint' };
    }
  };
  // A plain promise chain rather than an async function with try/await: the same handling, one promise less per
  // request. Koa's `next` always returns a promise (a step that throws becomes a rejection).
  return (ctx, next) =>
    next().then(
      () => notFound(ctx),
      (err: unknown) => render(ctx, err),
    );
}
