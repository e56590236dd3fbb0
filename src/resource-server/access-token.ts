/**
 * What a protected route learns about the caller, whichever way the token was checked.
 */
export interface AccessToken {
  /** The user (or, for client_credentials, the client). */
  readonly sub: string;
  readonly clientId: string;
  readonly scopes: ReadonlySet<string>;
  readonly roles: readonly string[];
  /** Expiry, seconds since the epoch. */
  readonly exp: number;
  /** Every claim of the token (JWT payload or introspection response). */
  readonly claims: Readonly<Record<string, unknown>>;
  readonly checkedBy: 'jwt' | 'introspection';
}

export function scopesOf(value: unknown): Set<string> {
  return new Set(typeof value === 'string' ? value.split(' ').filter(Boolean) : []);
}

export function rolesOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((r): r is string => typeof r === 'string') : [];
}
