/**
 * Security headers on every response, set on the Node response object itself so they also cover what
 * oidc-provider renders. Each response gets a fresh CSP nonce; pages use it for their one inline style, and
 * oidc-provider adds the hash of its form_post script to `script-src` itself. Images come from Gatehouse itself and,
 * when a brand logo is configured elsewhere, from that logo's origin only.
 *
 * With an https issuer every response also carries Strict-Transport-Security, so a browser that has been here
 * once never sends a cookie or a password over plain http to this host again. An http issuer (development) gets
 * none: browsers ignore the header over http, and it must never pin a localhost name to https.
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Middleware } from 'koa';
import type { Config } from '../config/types.ts';

const nonces = new WeakMap<ServerResponse, string>();

/** Random bytes drawn once per 256 nonces: each nonce is 16 bytes of it never handed out before. */
const NONCE_BYTES = 16;
let pool = Buffer.alloc(0);
let offset = 0;

function freshNonce(): string {
  if (offset + NONCE_BYTES > pool.length) {
    pool = randomBytes(NONCE_BYTES * 256);
    offset = 0;
  }
  const nonce = pool.toString('base64', offset, offset + NONCE_BYTES);
  offset += NONCE_BYTES;
  return nonce;
}

export function cspNonce(res: ServerResponse): string {
  let nonce = nonces.get(res);
  if (!nonce) {
    nonce = freshNonce();
    nonces.set(res, nonce);
  }
  return nonce;
}

function strictTransportSecurity(config: Pick<Config, 'issuer' | 'hsts'>): string | undefined {
  if (new URL(config.issuer).protocol !== 'https:') return undefined;
  return `max-age=${config.hsts.maxAgeSeconds}${config.hsts.includeSubDomains ? '; includeSubDomains' : ''}`;
}

export function securityHeaders(config: Pick<Config, 'issuer' | 'hsts' | 'brand'>): Middleware {
  const hsts = strictTransportSecurity(config);
  const logoUrl = config.brand.logoUrl;
  const imgSrc = ["'self'", ...(logoUrl ? [new URL(logoUrl).origin] : [])].join(' ');
  return (ctx, next) => {
    const nonce = cspNonce(ctx.res);
    if (hsts) ctx.set('Strict-Transport-Security', hsts);
    ctx.set({
      'Content-Security-Policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; img-src ${imgSrc}; base-uri 'none'; frame-ancestors 'none'`,
      'X-Content-Type-Options': 'nosniff',
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'no-referrer',
      'Cross-Origin-Opener-Policy': 'same-origin',
    });
    return next();
  };
}
