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
import { BearerError, RequestError } from './bearer-error.ts';

const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const MAX_TOKEN_LENGTH = 16_384;
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * The form body, at most `limit` bytes (413), valid UTF-8, each parameter at most once (RFC 6749 3.1: a repeated
 * parameter is ambiguous). A body the client aborts is a 400.
 */
async function readForm(ctx: Context, limit: number): Promise<Map<string, string>> {
  if (Number(ctx.get('content-length') || 0) > limit) throw new RequestError(413, 'request body too large');
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of ctx.req) {
      size += (chunk as Buffer).length;
      if (size > limit) throw new RequestError(413, 'request body too large');
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof RequestError) throw err;
    throw new RequestError(400, 'the request body could not be read');
  }
  let text: string;
  try {
    text = decoder.decode(Buffer.concat(chunks, size));
  } catch {
    throw new BearerError('invalid_request', 'request body is not valid UTF-8');
  }
  const form = new Map<string, string>();
  for (const [k, v] of new URLSearchParams(text)) {
    if (form.has(k)) throw new BearerError('invalid_request', `parameter ${k.slice(0, 40)} given more than once`);
    form.set(k, v);
  }
  return form;
}

function bearerHeader(ctx: Context): string | undefined {
  const header = ctx.get('authorization');
  if (!header) return undefined;
  const space = header.indexOf(' ');
  const scheme = space === -1 ? header : header.slice(0, space);
  if (scheme.toLowerCase() !== 'bearer') return undefined;
  const value = space === -1 ? '' : header.slice(space + 1);
  if (!B64TOKEN.test(value))
    throw new BearerError('invalid_request', 'malformed Authorization header: expected Bearer and one token');
  return value;
}

function chosen(fromHeader: string | undefined, fromBody: string | undefined): string {
  if (fromHeader !== undefined && fromBody !== undefined)
    throw new BearerError('invalid_request', 'the access token must be sent in exactly one place');
  const token = fromHeader ?? fromBody;
  if (token === undefined) throw new BearerError(undefined, 'an access token is required');
  if (token.length > MAX_TOKEN_LENGTH) throw new BearerError('invalid_token', 'access token too long');
  return token;
}

async function withFormBody(ctx: Context, fromHeader: string | undefined, bodyLimit: number): Promise<string> {
  const form = await readForm(ctx, bodyLimit);
  ctx.state.form = form;
  const value = form.get('access_token');
  if (value !== undefined && !B64TOKEN.test(value))
    throw new BearerError('invalid_request', 'malformed access_token parameter');
  return chosen(fromHeader, value);
}

/** The request's bearer token; a promise only when a form body has to be read. Throws/rejects with BearerError. */
export function extractBearerToken(ctx: Context, bodyLimit = 65_536): string | Promise<string> {
  const fromHeader = bearerHeader(ctx);
  if (ctx.query.access_token !== undefined) {
    throw new BearerError('invalid_request', 'access tokens in the URL are not accepted; use the Authorization header');
  }
  if (ctx.method !== 'GET' && ctx.method !== 'HEAD' && ctx.is('application/x-www-form-urlencoded'))
    return withFormBody(ctx, fromHeader, bodyLimit);
  return chosen(fromHeader, undefined);
}
