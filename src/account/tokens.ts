/**
 * Single-use link tokens (password reset, email verification): 32 random bytes, base64url, sent by mail only.
 * The store keeps the SHA-256 of the token, never the token: a leaked store does not yield working links.
 */
import { createHash, randomBytes } from 'node:crypto';

/** What a link token looks like; anything else is refused before any lookup. */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function newToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashToken(token) };
}
