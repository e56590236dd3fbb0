/**
 * Lifetimes of everything the provider issues.
 *
 * Refresh tokens have an idle lifetime (each rotation starts a new one) capped by an absolute lifetime counted
 * from the login (`iiat`, kept across rotations). The Grant lives as long as the absolute lifetime, so the
 * library's 14-day Grant default can never cut a refresh token short.
 */
import type { Config } from '../config/types.ts';

interface HasResourceServer {
  resourceServer?: { accessTokenTTL?: number };
}

export function ttl(config: Config) {
  const t = config.ttl;
  return {
    AccessToken: (_ctx: unknown, token: HasResourceServer) => token.resourceServer?.accessTokenTTL ?? t.accessToken,
    ClientCredentials: (_ctx: unknown, token: HasResourceServer) => token.resourceServer?.accessTokenTTL ?? t.clientCredentials,
    AuthorizationCode: t.authorizationCode,
    IdToken: t.idToken,
    Interaction: t.interaction,
    Session: t.session,
    Grant: t.refreshTokenAbsolute,
    DeviceCode: 600,
    BackchannelAuthenticationRequest: 600,
    PreAuthorizedCode: 600,
    RefreshToken(_ctx: unknown, token: { iiat?: number; iat?: number }) {
      const now = Math.floor(Date.now() / 1000);
      const loginAt = token.iiat ?? token.iat ?? now;
      const absoluteLeft = loginAt + t.refreshTokenAbsolute - now;
      return Math.max(1, Math.min(t.refreshTokenIdle, absoluteLeft));
    },
  };
}
