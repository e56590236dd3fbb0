/**
 * Finds the bearer token of a request, following RFC 6750 section 2.
 *
 * Rules:
 * - Accepted locations: the `Authorization: Bearer <token>` header (2.1) and, for requests with an
 *   application/x-www-form-urlencoded body other than GET, the `access_token` form parameter (2.2).
 * - The URI query parameter (2.3) is refused with `invalid_request`: tokens in URLs end up in logs and history.
 * - More than one location at once is `invalid_request` (section 2: "MUST NOT use more than one method").
 * - A Bearer header whose value is not exactly one b64token is `invalid_request`.
 * - An Authorization header of another scheme counts as no bearer credentials (401 without an error code).
 * The parsed form, when read, is left on `ctx.state.form` for the route.
 * When there is no form body to read (every GET), the answer is synchronous: the common case costs no promise.
 */
import type { Context } from 'koa';
import { readForm } from '../web/body.ts';
import { BearerError } from './bearer-error.ts';

const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const MAX_TOKEN_LENGTH = 16_384;

function bearerHeader(ctx: Context): string | undefined {
  const header = ctx.get('authorization');
  if (!header) return undefined;
  const space = header.indexOf(' ');
  const scheme = space === -1 ? header : header.slice(0, space);
  if (scheme.toLowerCase() !== 'bearer') return undefined;
  const value = space === -1 ? '' : header.slice(space + 1);
  if (!B64TOKEN.test(value)) throw new BearerError('invalid_request', 'malformed Authorization header: expected Bearer and one token');
  return value;
}

function chosen(fromHeader: string | undefined, fromBody: string | undefined): string {
  if (fromHeader !== undefined && fromBody !== undefined) throw new BearerError('invalid_request', 'the access token must be sent in exactly one place');
  const token = fromHeader ?? fromBody;
  if (token === undefined) throw new BearerError(undefined, 'an access token is required');
  if (token.length > MAX_TOKEN_LENGTH) throw new BearerError('invalid_token', 'access token too long');
  return token;
}

async function withFormBody(ctx: Context, fromHeader: string | undefined, bodyLimit: number): Promise<string> {
  const form = await readForm(ctx, bodyLimit);
  ctx.state.form = form;
  const value = form.get('access_token');
  if (value !== undefined && !B64TOKEN.test(value)) throw new BearerError('invalid_request', 'malformed access_token parameter');
  return chosen(fromHeader, value);
}

/** The request's bearer token; a promise only when a form body has to be read. Throws/rejects with BearerError. */
export function extractBearerToken(ctx: Context, bodyLimit = 65_536): string | Promise<string> {
  const fromHeader = bearerHeader(ctx);
  if (ctx.query.access_token !== undefined) {
    throw new BearerError('invalid_request', 'access tokens in the URL are not accepted; use the Authorization header');
  }
  if (ctx.method !== 'GET' && ctx.method !== 'HEAD' && ctx.is('application/x-www-form-urlencoded')) return withFormBody(ctx, fromHeader, bodyLimit);
  return chosen(fromHeader, undefined);
}
