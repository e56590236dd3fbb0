/**
 * Maps an account to OIDC standard claims (OIDC Core 5.1) and the `roles` claim. oidc-provider filters them by
 * the scopes and claims the client was granted.
 */
import type { Account } from '../storage/types.ts';

export function accountClaims(account: Account): Record<string, unknown> {
  return {
    sub: account.id,
    preferred_username: account.username,
    name: account.name ?? account.username,
    ...(account.givenName ? { given_name: account.givenName } : {}),
    ...(account.familyName ? { family_name: account.familyName } : {}),
    updated_at: Math.floor(account.updatedAt / 1000),
    ...(account.email ? { email: account.email, email_verified: account.emailVerified ?? false } : {}),
    ...(account.phoneNumber ? { phone_number: account.phoneNumber, phone_number_verified: false } : {}),
    ...(account.address ? { address: account.address } : {}),
    roles: [...account.roles],
  };
}
