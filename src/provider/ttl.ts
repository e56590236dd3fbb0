/**
 * Lifetimes of everything the provider issues.
 *
 * Refresh tokens have an idle lifetime (each rotation starts a new one) capped by an absolute lifetime counted
 * from the login (`iiat`, kept across rotations). The Grant lives as long as the absolute lifetime, so the
 * library's 14-day Grant default can never cut a refresh token short.
 *
 * Records that anyone can make the provider store without signing in — a Session nobody signed in to (e.g. the
 * logout confirmation state of `GET /session/end`), an Interaction before sign-in — live at most
 * `ttl.unauthenticated` (minutes), so unauthenticated traffic cannot pile up long-lived records. A session gets its
 * full lifetime when it is saved with a signed-in account; an interaction after sign-in (consent) its own.
 */
import type { Config } from '../config/types.ts';

interface HasAccount {
  accountId?: string;
  session?: { accountId?: string };
}

interface HasResourceServer {
  resourceServer?: { accessTokenTTL?: number };
}

export function ttl(config: Config) {
  const t = config.ttl;
  return {
    AccessToken: (_ctx: unknown, token: HasResourceServer) => token.resourceServer?.accessTokenTTL ?? t.accessToken,
    ClientCredentials: (_ctx: unknown, token: HasResourceServer) =>
      token.resourceServer?.accessTokenTTL ?? t.clientCredentials,
    AuthorizationCode: t.authorizationCode,
    IdToken: t.idToken,
    Interaction: (_ctx: unknown, interaction: HasAccount) =>
      interaction.accountId || interaction.session?.accountId
        ? t.interaction
        : Math.min(t.interaction, t.unauthenticated),
    Session: (_ctx: unknown, session: HasAccount) =>
      session.accountId ? t.session : Math.min(t.session, t.unauthenticated),
    Grant: t.refreshTokenAbsolute,
    DeviceCode: config.deviceFlow.codeTtlSeconds,
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
