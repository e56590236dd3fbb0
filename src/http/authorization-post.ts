/**
 * POST to the authorization endpoint (OIDC Core 3.1.2.1: an OP MUST support GET and POST there).
 *
 * oidc-provider serves that POST only when its session cookie is `SameSite=None` (a cross-site form POST does
 * not carry a Lax cookie), which would weaken the CSRF protection every other route gets from Lax. Instead the
 * POST is answered with a 303 to the same endpoint with the parameters in the query: the browser follows it as
 * a top-level GET, which carries the Lax session cookie, and oidc-provider sees an ordinary request.
 *
 * Rules: only application/x-www-form-urlencoded bodies within the body limit, each parameter once (readForm's
 * 413/415/400); parameters in the query and in the body at once are refused (400), as they would be ambiguous;
 * parameters that would make a redirect over 8 KiB are refused (400) rather than sent as an unfollowable 303.
 */
import type { Middleware } from 'koa';
import { readForm } from '../web/body.ts';
import { HttpError } from '../web/errors.ts';

const MAX_REDIRECT_LENGTH = 8192;

export function authorizationPost(path: string, bodyLimitBytes: number): Middleware {
  const handle: Middleware = async (ctx) => {
    if (ctx.querystring)
      throw new HttpError(
        400,
        'invalid_request',
        'authorization parameters must be in the query or in the body, not both',
      );
    const form = await readForm(ctx, bodyLimitBytes);
    const location = `${path}?${new URLSearchParams([...form]).toString()}`;
    // A redirect the browser could not follow (our own server answers 431 past 16 KiB of headers) is refused here.
    if (location.length > MAX_REDIRECT_LENGTH) {
      throw new HttpError(
        400,
        'invalid_request',
        'authorization request too large; send large requests with PAR (/request)',
      );
    }
    ctx.status = 303;
    ctx.set('Cache-Control', 'no-store');
    ctx.redirect(location);
    return undefined;
  };
  return (ctx, next) => (ctx.method !== 'POST' || ctx.path !== path ? next() : handle(ctx, next));
}
