/**
 * Security headers on every response, set on the Node response object itself so they also cover what
 * oidc-provider renders. Each response gets a fresh CSP nonce; pages use it for their one inline style, and
 * oidc-provider adds the hash of its form_post script to `script-src` itself. Images come from Gatehouse itself and,
 * when a brand logo is configured elsewhere, from that logo's origin only.
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Middleware } from 'koa';

const nonces = new WeakMap<ServerResponse, string>();

export function cspNonce(res: ServerResponse): string {
  let nonce = nonces.get(res);
  if (!nonce) {
    nonce = randomBytes(16).toString('base64');
    nonces.set(res, nonce);
  }
  return nonce;
}

export function securityHeaders(logoUrl = ''): Middleware {
  const imgSrc = ["'self'", ...(logoUrl ? [new URL(logoUrl).origin] : [])].join(' ');
  return async (ctx, next) => {
    const nonce = cspNonce(ctx.res);
    ctx.set({
      'Content-Security-Policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; img-src ${imgSrc}; base-uri 'none'; frame-ancestors 'none'`,
      'X-Content-Type-Options': 'nosniff',
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'no-referrer',
      'Cross-Origin-Opener-Policy': 'same-origin',
    });
    await next();
  };
}
