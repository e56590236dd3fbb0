/**
 * What each client may obtain and see, from its own metadata: the scopes and resource servers it may get tokens
 * for, and whose tokens it may introspect. Gatehouse's client metadata beyond RFC 7591 is defined here.
 *
 * Rules:
 * - `scope` (RFC 7591) lists every scope the client may obtain: OIDC scopes and resource-server scopes alike.
 *   oidc-provider itself only knows OIDC scopes, so the resource-server scopes are taken out of `scope` when the
 *   metadata is validated and kept apart (`resource_scopes`, computed, never registered).
 * - Resource-server scopes are least privilege: a client gets, at a resource server, only the scopes of that
 *   server its `scope` lists; without any, no token for that server at all (`invalid_target`). Asking for a scope
 *   of the server that `scope` does not list is `invalid_scope`. This is enforced where oidc-provider asks for a
 *   resource server's details, which every grant does (authorization request, code exchange, refresh,
 *   client credentials), so narrowing a client's `scope` also narrows its next refresh.
 * - `allowed_resources` (optional) narrows further: tokens only for the resource servers it names. A server named
 *   there whose scopes the client has none of still gets an audience-only token (no `scope`).
 * - OIDC scopes stay oidc-provider's: with `scope`, only those listed (and `openid` when `scope` lists resource
 *   scopes only — it releases just `sub`, which every access token for the user carries anyway); without `scope`,
 *   any OIDC scope, each shown to the user on the consent page.
 * - Introspection (RFC 7662): a client may introspect the tokens issued to it, and a confidential client named as
 *   the resource server for an audience (`resource_server_for`) the access tokens for that audience. Everyone else
 *   gets `{"active": false}` (RFC 7662 2.2), the answer for an unknown token. A refresh token is only ever
 *   introspectable by its own client.
 */
import { errors, type ClientMetadata, type KoaContextWithOIDC } from 'oidc-provider';
import type { Config } from '../config/types.ts';
import { clientMetadata } from './client-metadata.ts';

type Client = NonNullable<KoaContextWithOIDC['oidc']['client']>;

/** OIDC scopes oidc-provider knows; everything else in `scope` must be a resource server's. */
type OidcScopes = readonly string[];

const PROPERTIES = [
  'resource_scopes',
  'first_party',
  'default_resource',
  'allowed_resources',
  'resource_server_for',
  'require_mfa',
] as const;

function identifierList(config: Config, key: string, value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string')) {
    throw new Error(`${key} must be a non-empty array of resource server identifiers`);
  }
  for (const v of value) {
    if (!config.resourceServers.some((rs) => rs.identifier === v))
      throw new Error(`${key}: ${v.slice(0, 200)} is not a configured resource server`);
  }
  return value as string[];
}

/** Splits `scope` into what oidc-provider validates (OIDC scopes) and the resource-server scopes kept apart. */
function splitScope(config: Config, oidcScopes: OidcScopes, metadata: Record<string, unknown>): void {
  const resourceScopes = new Set(config.resourceServers.flatMap((rs) => rs.scopes));
  const own: string[] = [];
  if (typeof metadata.scope === 'string') {
    const rest: string[] = [];
    for (const s of metadata.scope.split(' ')) {
      if (resourceScopes.has(s) && !oidcScopes.includes(s)) own.push(s);
      else rest.push(s);
    }
    // Only resource scopes listed: OIDC allows just `openid` (see the rules above).
    metadata.scope = rest.length > 0 ? rest.join(' ') : 'openid';
  }
  metadata.resource_scopes = [...new Set(own)];
}

/** `extraClientMetadata` for oidc-provider: Gatehouse's client properties and their validation. */
export function clientMetadataExtension(config: Config, oidcScopes: OidcScopes) {
  return {
    properties: [...PROPERTIES],
    validator(_ctx: unknown, key: string, value: unknown, metadata: ClientMetadata) {
      switch (key) {
        case 'resource_scopes':
          if (value !== undefined)
            throw new Error('resource_scopes is not registered: list resource-server scopes in scope');
          splitScope(config, oidcScopes, metadata as Record<string, unknown>);
          return;
        case 'first_party':
          if (value !== undefined && typeof value !== 'boolean') throw new Error('first_party must be a boolean');
          return;
        case 'require_mfa':
          if (value !== undefined && typeof value !== 'boolean') throw new Error('require_mfa must be a boolean');
          return;
        case 'default_resource':
          if (
            value !== undefined &&
            (typeof value !== 'string' || !config.resourceServers.some((rs) => rs.identifier === value))
          ) {
            throw new Error('default_resource must name a configured resource server');
          }
          return;
        case 'allowed_resources':
          if (value !== undefined) {
            const list = identifierList(config, key, value);
            if (typeof metadata.default_resource === 'string' && !list.includes(metadata.default_resource)) {
              throw new Error('default_resource must be one of allowed_resources');
            }
          }
          return;
        case 'resource_server_for':
          if (value !== undefined) {
            identifierList(config, key, value);
            if (metadata.token_endpoint_auth_method === 'none')
              throw new Error('resource_server_for needs a confidential client');
          }
          return;
      }
    },
  };
}

/** The scopes of `resource` (its configured list) this client may obtain; throws when it may not use it at all. */
export function allowedResourceScopes(
  ctx: KoaContextWithOIDC,
  client: Client,
  resource: string,
  serverScopes: readonly string[],
): string[] {
  const meta = clientMetadata(client);
  const own = new Set((meta.resource_scopes as string[] | undefined) ?? []);
  const allowed = serverScopes.filter((s) => own.has(s));
  const requested = typeof ctx.oidc.params?.scope === 'string' ? ctx.oidc.params.scope.split(' ') : [];
  const refused = requested.filter((s) => serverScopes.includes(s) && !own.has(s));
  if (refused.length > 0)
    throw new errors.InvalidScope('requested scope is not allowed for this client', refused.join(' '));
  const listed = meta.allowed_resources as string[] | undefined;
  if (listed ? !listed.includes(resource) : allowed.length === 0) {
    throw new errors.InvalidTarget('this client is not allowed tokens for this resource');
  }
  return allowed;
}

interface IntrospectedToken {
  kind: string;
  clientId?: string;
  aud?: string | string[];
}

/** features.introspection.allowedPolicy (see the rules above). */
export async function introspectionAllowed(
  _ctx: KoaContextWithOIDC,
  client: Client,
  token: IntrospectedToken,
): Promise<boolean> {
  if (token.clientId === client.clientId) return true;
  if (token.kind === 'RefreshToken' || client.clientAuthMethod === 'none') return false;
  const served = (clientMetadata(client).resource_server_for as string[] | undefined) ?? [];
  const audiences = Array.isArray(token.aud) ? token.aud : token.aud ? [token.aud] : [];
  return audiences.some((a) => served.includes(a));
}
