/**
 * Makes every request look, to oidc-provider, as if it arrived at the issuer: the provider builds endpoint URLs
 * (discovery, form actions, redirects) from the request's host and protocol, so without this a forged `Host` or
 * `X-Forwarded-Host` header would end up in the URLs it publishes.
 *
 * Rules:
 * - `Host`, `X-Forwarded-Host` and `X-Forwarded-Proto` are overwritten with the issuer's host and protocol; the
 *   issuer URL is therefore never derived from request headers, whatever the proxy setting.
 * - The client IP is decided once, here: the socket address, or X-Forwarded-For only when `trustProxy` is on (and
 *   then its last entry, the one our own proxy appended: the app's `maxIpsCount` is 1). The app runs with `proxy`
 *   on (oidc-provider's setting), so Koa would believe X-Forwarded-For whatever `trustProxy` says; the IP decided
 *   here is therefore fixed on the request, and written back as the only X-Forwarded-For value.
 * - https issuers behind a TLS-terminating proxy get Secure cookies even when the hop to us is plain http.
 */
import type { Middleware } from 'koa';

export function canonicalRequest(issuer: string, trustProxy: boolean): Middleware {
  const { host, protocol } = new URL(issuer);
  const proto = protocol.slice(0, -1);
  return (ctx, next) => {
    const ip = trustProxy ? ctx.ip : ctx.socket.remoteAddress || '';
    ctx.request.ip = ip;
    const headers = ctx.req.headers;
    headers.host = host;
    headers['x-forwarded-host'] = host;
    headers['x-forwarded-proto'] = proto;
    headers['x-forwarded-for'] = ip;
    return next();
  };
}
