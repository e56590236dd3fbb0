/**
 * Consent for a first-party client, given together with the sign-in: the Grant the consent step would create
 * without a page is saved when the password is accepted, so the authorization request resumes straight to the
 * code instead of taking one more interaction. The provider takes the grant handed in with the login result
 * (src/provider/oidc-internals.ts, point 3).
 *
 * Rules:
 * - Only for a client marked `first_party: true` (the same clients that never see a consent page), and only on
 *   a fresh sign-in (no browser session yet, no existing grant): re-authentication keeps the regular path.
 * - It grants exactly what oidc-provider's consent checks would find missing for this request — the requested
 *   scopes the provider knows, and the requested scopes of the resource server the request resolves to (its
 *   `resource`, else the client's `default_resource`, else the default resource server when one of its scopes is
 *   asked for: src/provider/resources.ts). Anything it cannot resolve with certainty (a `claims` parameter, several
 *   or unknown resources) gets no early grant: the provider then asks for consent and the consent step decides
 *   (routes.ts: without a page only when the client's registered scopes release every claim asked for), so this
 *   is only ever a shortcut, never a different decision.
 */
import type Provider from 'oidc-provider';
import type { Config } from '../config/types.ts';
import { SCOPES } from '../provider/create-provider.ts';
import { clientMetadata } from '../provider/client-metadata.ts';

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;
type Client = NonNullable<Awaited<ReturnType<Provider['Client']['find']>>>;

interface ResourceScopes {
  indicator: string;
  scopes: string[];
}

/** The resource server and its requested scopes, null when it cannot be resolved with certainty. */
function requestedResource(
  config: Config,
  client: Client,
  requested: string[],
  resource: unknown,
): ResourceScopes | undefined | null {
  let rs: Config['resourceServers'][number] | undefined;
  if (resource !== undefined) {
    if (typeof resource !== 'string') return null;
    rs = config.resourceServers.find((r) => r.identifier === resource);
    if (!rs) return null;
  } else {
    const own = clientMetadata(client).default_resource;
    if (typeof own === 'string') {
      rs = config.resourceServers.find((r) => r.identifier === own);
      if (!rs) return null;
    } else {
      const fallback = config.resourceServers.find((r) => r.default);
      rs = fallback?.scopes.some((s) => requested.includes(s)) ? fallback : undefined;
    }
  }
  if (!rs) return undefined;
  const scopes = requested.filter((s) => (rs.scopes as readonly string[]).includes(s));
  return scopes.length > 0 ? { indicator: rs.identifier, scopes } : undefined;
}

/**
 * Saves the first-party Grant for this sign-in and returns its id, or undefined when the regular consent step
 * must decide (see the rules above).
 */
export async function firstPartyGrant(
  provider: Provider,
  config: Config,
  d: Details,
  client: Client | undefined,
  accountId: string,
): Promise<string | undefined> {
  if (client === undefined || clientMetadata(client).first_party !== true || d.session || d.grantId) return undefined;
  if (d.params.claims !== undefined) return undefined;
  const requested = typeof d.params.scope === 'string' ? d.params.scope.split(' ').filter(Boolean) : [];
  const resource = requestedResource(config, client, requested, d.params.resource);
  if (resource === null) return undefined;
  const grant = new provider.Grant({ accountId, clientId: client.clientId });
  const oidcScopes = requested.filter((s) => SCOPES.includes(s));
  if (oidcScopes.length > 0) grant.addOIDCScope(oidcScopes.join(' '));
  if (resource) grant.addResourceScope(resource.indicator, resource.scopes.join(' '));
  return grant.save();
}
