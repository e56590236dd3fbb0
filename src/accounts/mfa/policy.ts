/**
 * When a sign-in needs a second factor. Any one of these asks for it:
 * - the account has a second factor (a user who enabled one is always asked after the password);
 * - the client is registered with `require_mfa: true`;
 * - the authorization request's `acr_values` accept ACR_MFA but not ACR_PASSWORD, or the `claims` parameter asks
 *   for ACR_MFA as an essential `acr`;
 * - `mfa.required` (MFA_REQUIRED) is on.
 * Without a factor of its own, an account asked for one sets up an authenticator app on the spot (docs/mfa.md).
 */
import type { Account } from '../../storage/types.ts';
import { factorsOf } from './service.ts';
import { ACR_MFA, ACR_PASSWORD } from './acr.ts';

interface MfaDemand {
  required: boolean;
  clientRequires: boolean;
  params: Record<string, unknown>;
}

function asksForMfa(params: Record<string, unknown>): boolean {
  const acrValues = typeof params.acr_values === 'string' ? params.acr_values.split(' ') : [];
  // acr_values lists acceptable classes (OIDC Core 3.1.2.1): a password does not satisfy it only when it is not listed.
  if (acrValues.includes(ACR_MFA) && !acrValues.includes(ACR_PASSWORD)) return true;
  let claims: unknown = params.claims;
  if (typeof claims === 'string') {
    try {
      claims = JSON.parse(claims);
    } catch {
      return false;
    }
  }
  const acr = (
    claims as { id_token?: { acr?: { essential?: boolean; value?: unknown; values?: unknown } } } | undefined
  )?.id_token?.acr;
  if (!acr?.essential) return false;
  return acr.value === ACR_MFA || (Array.isArray(acr.values) && acr.values.includes(ACR_MFA));
}

export function needsSecondFactor(demand: MfaDemand, account: Account | undefined): boolean {
  return (
    demand.required ||
    demand.clientRequires ||
    asksForMfa(demand.params) ||
    (account !== undefined && factorsOf(account).any)
  );
}
