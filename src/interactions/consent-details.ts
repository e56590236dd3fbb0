/**
 * What a consent page shows, in plain words: every OIDC scope, every claim asked for with the `claims`
 * parameter and every resource-server scope that allowing will put in the grant, and where the browser goes
 * next.
 *
 * Rules:
 * - The items come from the same prompt details the consent step turns into the grant (`grantConsent` in
 *   routes.ts), so the page cannot show less than the grant will hold.
 * - A claim is listed on its own unless a scope listed on the same page already releases it (asking for
 *   `email` as a scope and as a claim shows one line).
 * - Unknown scopes and claims are still listed, by their name: nothing is granted without a line on the page.
 * - A first-party client is trusted for what its registration allows: it skips the page only when every claim
 *   asked for belongs to a scope it may request (its `scope` metadata; without one, any OIDC scope).
 */
import { CLAIMS } from '../provider/create-provider.ts';

export interface ConsentItem {
  /** What the client may do, for the user. */
  readonly text: string;
  /** The protocol name(s) behind it, shown small for those who want them. */
  readonly code: string;
}

/** The prompt details oidc-provider gives for a consent interaction (only the parts consent grants). */
export interface MissingConsent {
  readonly missingOIDCScope?: readonly string[];
  readonly missingOIDCClaims?: readonly string[];
  readonly missingResourceScopes?: Readonly<Record<string, readonly string[]>>;
}

export const SCOPE_TEXT: Readonly<Record<string, string>> = {
  openid: 'Know who you are',
  profile: 'See your name and username',
  email: 'See your email address',
  phone: 'See your phone number',
  address: 'See your postal address',
  offline_access: 'Stay signed in (keep access while you are away)',
};

export const CLAIM_TEXT: Readonly<Record<string, string>> = {
  name: 'See your full name',
  given_name: 'See your first name',
  family_name: 'See your last name',
  preferred_username: 'See your username',
  updated_at: 'See when your profile was last changed',
  email: 'See your email address',
  email_verified: 'See whether your email address is verified',
  phone_number: 'See your phone number',
  phone_number_verified: 'See whether your phone number is verified',
  address: 'See your postal address',
};

const CLAIMS_OF_SCOPE: Readonly<Record<string, readonly string[]>> = CLAIMS;

function claimsOf(scopes: Iterable<string>): Set<string> {
  return new Set([...scopes].flatMap((s) => CLAIMS_OF_SCOPE[s] ?? []));
}

function hostOf(uri: string): string {
  return URL.canParse(uri) ? new URL(uri).host || uri : uri;
}

/** Every line of the consent page, in the order: OIDC scopes, claims, resource servers. */
export function consentItems(missing: MissingConsent): ConsentItem[] {
  const scopes = [...new Set(missing.missingOIDCScope ?? [])];
  const released = claimsOf(scopes);
  const items: ConsentItem[] = scopes.map((s) => ({ text: SCOPE_TEXT[s] ?? `Use "${s}"`, code: s }));
  for (const claim of new Set(missing.missingOIDCClaims ?? [])) {
    if (!released.has(claim)) items.push({ text: CLAIM_TEXT[claim] ?? `See your "${claim}"`, code: claim });
  }
  for (const [indicator, granted] of Object.entries(missing.missingResourceScopes ?? {})) {
    if (granted.length === 0) continue;
    items.push({ text: `Use ${hostOf(indicator)} on your behalf`, code: [...new Set(granted)].join(' ') });
  }
  return items;
}

/** The host the browser is sent back to, whatever the user decides. */
export function returnHost(redirectUri: unknown, registered: readonly string[]): string {
  const uri = typeof redirectUri === 'string' ? redirectUri : registered[0];
  return uri ? hostOf(uri) : '';
}

/**
 * Whether a first-party client may have this consent without a page: every claim asked for is released by a
 * scope the client may request (`allowedScope` is its `scope` metadata, undefined when it registered none).
 */
export function firstPartyCovers(missing: MissingConsent, allowedScope: string | undefined): boolean {
  const claims = missing.missingOIDCClaims ?? [];
  if (claims.length === 0 || allowedScope === undefined) return true;
  const released = claimsOf(allowedScope.split(' '));
  return claims.every((c) => released.has(c));
}
