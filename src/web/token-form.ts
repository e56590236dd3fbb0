/**
 * The form of a POST that oidc-provider parses (token, introspection, revocation, PAR, logout), read once for the
 * middleware that needs it before the provider does (the rate limiters, the storage prefetch), and the client id
 * it names.
 *
 * Rules:
 * - Only application/x-www-form-urlencoded bodies are read; anything else is left to the provider to refuse.
 * - At most `limit` bytes (413 beyond); an aborted body is a 400 (readBytes).
 * - The provider parses the stream itself, so it is handed a fresh, complete IncomingMessage carrying the same
 *   bytes (same line, headers and socket): it sees exactly what the client sent.
 * - The parsed form is kept on the Koa context, so a second reader does not read again.
 */
import { IncomingMessage } from 'node:http';
import type { Context } from 'koa';
import { readBytes } from './body.ts';

/**
 * oidc-provider's default routes for the back-channel endpoints whose form is read before the provider reads it
 * (rate limited per client, and prefetched from storage).
 */
export const LIMITED_PATHS: ReadonlySet<string> = new Set([
  '/token',
  '/token/introspection',
  '/token/revocation',
  '/device/auth',
]);

const FORM = Symbol('gatehouse.tokenForm');

/** A complete request with the same line, headers and socket as `req`, whose body is `body`. */
export function replay(req: IncomingMessage, body: Buffer): IncomingMessage {
  const copy = new IncomingMessage(req.socket);
  // A request a server received always has both; Node's type leaves them optional for client responses.
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

/**
 * Whether a Content-Type is application/x-www-form-urlencoded (any case, any parameters): the media type `ctx.is`
 * compares, without its check that a body was announced (a form without one reads as empty).
 */
export function isForm(contentType: string): boolean {
  const semicolon = contentType.indexOf(';');
  return (
    (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase() ===
    'application/x-www-form-urlencoded'
  );
}

/** The form parameters of the request, or undefined when its body is not a form. Reads the body at most once. */
export async function tokenForm(ctx: Context, limit: number): Promise<URLSearchParams | undefined> {
  const state = ctx.state as { [FORM]?: URLSearchParams };
  if (state[FORM]) return state[FORM];
  if (!isForm(ctx.get('content-type'))) return undefined;
  const body = await readBytes(ctx.req, limit);
  ctx.req = replay(ctx.req, body);
  // Duplicated or malformed parameters are the provider's to refuse; readers here only take single values.
  state[FORM] = new URLSearchParams(body.toString('latin1'));
  return state[FORM];
}

function clientFromBasic(header: string): string | undefined {
  const encoded = /^Basic ([A-Za-z0-9+/=]{1,2048})$/i.exec(header)?.[1];
  if (!encoded) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 1) return undefined;
  try {
    // RFC 6749 2.3.1: the client id is form-encoded before it is put in the header.
    return decodeURIComponent(decoded.slice(0, colon).replaceAll('+', ' '));
  } catch {
    return undefined;
  }
}

/** A parameter the form carries exactly once; undefined when it is absent, repeated, or there is no form. */
export function singleParam(form: URLSearchParams | undefined, name: string): string | undefined {
  const values = form?.getAll(name) ?? [];
  return values.length === 1 ? values[0] : undefined;
}

/** Client ids worth counting or looking up: printable ASCII, at most 128 characters. */
const CLIENT_ID = /^[\x21-\x7e]{1,128}$/;

/**
 * The client the request names: from HTTP Basic auth, or from a single `client_id` form field, when it is a
 * well-formed id. Only a name — whether the client is who it says is the provider's to check.
 */
export async function namedClient(ctx: Context, limit: number): Promise<string | undefined> {
  // Duplicated or malformed parameters are the provider's to refuse; only a single id counts here.
  const named = clientFromBasic(ctx.get('authorization')) ?? singleParam(await tokenForm(ctx, limit), 'client_id');
  return named !== undefined && CLIENT_ID.test(named) ? named : undefined;
}
