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
  /** The catalogue key of what the client may do, for the user (views/i18n: `scope.*`, `claim.*`, `consent.*`). */
  readonly key: string;
  /** The values its placeholders take. */
  readonly values: Readonly<Record<string, string>>;
  /** The protocol name(s) behind it, shown small for those who want them. */
  readonly code: string;
}

/** The prompt details oidc-provider gives for a consent interaction (only the parts consent grants). */
export interface MissingConsent {
  readonly missingOIDCScope?: readonly string[];
  readonly missingOIDCClaims?: readonly string[];
  readonly missingResourceScopes?: Readonly<Record<string, readonly string[]>>;
}

/** Scopes and claims with a sentence of their own in the catalogues; anything else is listed by its name. */
const SCOPES_WITH_TEXT = new Set(['openid', 'profile', 'email', 'phone', 'address', 'offline_access']);
const CLAIMS_WITH_TEXT = new Set([
  'name',
  'given_name',
  'family_name',
  'preferred_username',
  'updated_at',
  'email',
  'email_verified',
  'phone_number',
  'phone_number_verified',
  'address',
]);

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
  const items = scopes.map(
    (s): ConsentItem =>
      SCOPES_WITH_TEXT.has(s)
        ? { key: `scope.${s}`, values: {}, code: s }
        : { key: 'consent.otherScope', values: { name: s }, code: s },
  );
  for (const claim of new Set(missing.missingOIDCClaims ?? [])) {
    if (released.has(claim)) continue;
    const item: ConsentItem = CLAIMS_WITH_TEXT.has(claim)
      ? { key: `claim.${claim}`, values: {}, code: claim }
      : { key: 'consent.otherClaim', values: { name: claim }, code: claim };
    items.push(item);
  }
  for (const [indicator, granted] of Object.entries(missing.missingResourceScopes ?? {})) {
    if (granted.length === 0) continue;
    items.push({ key: 'consent.resource', values: { host: hostOf(indicator) }, code: [...new Set(granted)].join(' ') });
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
