/**
 * Resource indicators (RFC 8707) and RFC 9068 JWT access tokens.
 *
 * Which resource an access token is for:
 * 1. the `resource` the client asked for (it must be a configured resource server, else `invalid_target`);
 * 2. else the client's registered `default_resource`;
 * 3. else the configured default resource server, when the request asks for any of its scopes;
 * 4. else none: an opaque token good for userinfo only.
 *
 * What the client may get there is its own metadata's business (client-access.ts): the resource server's scopes
 * are narrowed to the client's before oidc-provider sees them.
 */
import { errors, type KoaContextWithOIDC, type ResourceServer } from 'oidc-provider';
import type { Config } from '../config/types.ts';
import { allowedResourceScopes } from './client-access.ts';
import { clientMetadata } from './client-metadata.ts';

type Client = NonNullable<KoaContextWithOIDC['oidc']['client']>;

export function resourceIndicators(config: Config) {
  const byId = new Map(config.resourceServers.map((rs) => [rs.identifier, rs]));
  const fallback = config.resourceServers.find((rs) => rs.default);

  return {
    enabled: true,
    useGrantedResource: () => true,
    async defaultResource(ctx: KoaContextWithOIDC, client: Client, oneOf?: string[]) {
      if (oneOf) return oneOf;
      const own = clientMetadata(client).default_resource;
      if (typeof own === 'string') return own;
      if (!fallback) return undefined;
      const scopes = String(ctx.oidc.params?.scope ?? '').split(' ');
      return fallback.scopes.some((s) => scopes.includes(s)) ? fallback.identifier : undefined;
    },
    async getResourceServerInfo(ctx: KoaContextWithOIDC, resource: string, client: Client): Promise<ResourceServer> {
      const rs = byId.get(resource);
      if (!rs) throw new errors.InvalidTarget(`unknown resource ${resource.slice(0, 200)}`);
      return {
        scope: allowedResourceScopes(ctx, client, resource, rs.scopes).join(' '),
        audience: rs.identifier,
        accessTokenTTL: rs.accessTokenTTL ?? config.ttl.accessToken,
        accessTokenFormat: rs.accessTokenFormat ?? 'jwt',
        jwt: { sign: { alg: config.signing.accessTokenAlg } },
      };
    },
  };
}
