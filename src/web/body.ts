/**
 * Reads an application/x-www-form-urlencoded body for Gatehouse's own forms.
 *
 * Rules: only that content type (415 otherwise); at most `limit` bytes (413); valid UTF-8 (400); every
 * parameter at most once (400: a duplicated parameter is ambiguous, RFC 6749 3.1); an aborted or malformed body
 * is a 400.
 */
import type { IncomingMessage } from 'node:http';
import type { Context } from 'koa';
import { HttpError } from './errors.ts';

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * The raw body, at most `limit` bytes (413). A body the client aborts or garbles (a malformed chunk, a closed
 * socket) is the client's error: 400, never a 500.
 */
export async function readBytes(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > limit) throw new HttpError(413, 'invalid_request', 'request body too large');
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof HttpError) throw err;
    throw new HttpError(400, 'invalid_request', 'the request body could not be read');
  }
  return Buffer.concat(chunks, size);
}

/**
 * Refuses (403) a form post from another site: one whose `Sec-Fetch-Site` is neither same-origin nor none (typed
 * by the user), or whose `Origin` is neither the issuer's nor `null`. Our pages send `Referrer-Policy:
 * no-referrer`, so browsers send `Origin: null` on their own form posts (Fetch spec); then Sec-Fetch-Site and the
 * SameSite cookies are what tell same-site from cross-site.
 */
export function assertSameOrigin(ctx: Context, issuerOrigin: string): void {
  const site = ctx.get('sec-fetch-site');
  const origin = ctx.get('origin');
  if ((site && site !== 'same-origin' && site !== 'none') || (origin && origin !== 'null' && origin !== issuerOrigin)) {
    throw new HttpError(403, 'invalid_request', 'cross-site form submission refused');
  }
}

export async function readForm(ctx: Context, limit: number): Promise<Map<string, string>> {
  if (!ctx.is('application/x-www-form-urlencoded')) {
    throw new HttpError(415, 'invalid_request', 'expected an application/x-www-form-urlencoded body');
  }
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limit) throw new HttpError(413, 'invalid_request', 'request body too large');
  const body = await readBytes(ctx.req, limit);
  let text: string;
  try {
    text = decoder.decode(body);
  } catch {
    throw new HttpError(400, 'invalid_request', 'request body is not valid UTF-8');
  }
  const form = new Map<string, string>();
  for (const [k, v] of new URLSearchParams(text)) {
    if (form.has(k)) throw new HttpError(400, 'invalid_request', `parameter ${k.slice(0, 40)} given more than once`);
    form.set(k, v);
  }
  return form;
}
