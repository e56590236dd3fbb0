/**
 * Feeds the audit trail from oidc-provider's events (the library emits them; this module only translates):
 *
 * | oidc-provider event                                      | audit event                                   |
 * | -------------------------------------------------------- | --------------------------------------------- |
 * | `grant.success`                                          | `token.issued` / `token.refreshed`            |
 * | `grant.error` "refresh token / authorization code already used/consumed" | `*.reuse_detected`            |
 * | `grant.error`, `introspection.error`, `revocation.error`, `pushed_authorization_request.error` with `invalid_client` | `client_auth.failure` |
 * | `access_token.destroyed`, `refresh_token.destroyed`, `client_credentials.destroyed` on the revocation route | `token.revoked` |
 * | `grant.revoked` (except on the token route)              | `grant.revoked`                               |
 * | `end_session.success`                                    | `logout`                                      |
 *
 * Rules:
 * - One reuse, one line. A replayed token reaches `grant.error` either way: oidc-provider saw it consumed and
 *   revoked the family itself (and emitted `grant.revoked`), or two requests raced and the store's atomic consume
 *   refused the loser and revoked the family (`Store.onReuse`, no `grant.revoked`). Both end as "already used /
 *   consumed" in `grant.error`, so that listener alone reports reuse, and `grant.revoked` on the token route (which
 *   only a reuse causes) is not repeated. `Store.onReuse` therefore feeds no audit line.
 * - Nothing from a request body or header is copied except the ids named in src/audit/audit.ts.
 */
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';
import type { Audit } from './audit.ts';

const REUSE = /^(refresh token|authorization code) already (used|consumed)$/;

function clientAuthFailure(audit: Audit) {
  return (ctx: KoaContextWithOIDC, err: { error?: string; error_detail?: string }) => {
    if (err.error !== 'invalid_client') return;
    // The client entity is set once the client is found (before its secret is checked); an unknown client has
    // only a claimed id, which is not logged.
    audit('client_auth.failure', { clientId: ctx.oidc?.client?.clientId, reason: err.error_detail });
  };
}

export function auditProviderEvents(provider: Provider, audit: Audit): void {
  provider.on('grant.success', (ctx) => {
    const grantType = ctx.oidc.params?.grant_type;
    const { AccessToken, Account } = ctx.oidc.entities;
    audit(grantType === 'refresh_token' ? 'token.refreshed' : 'token.issued', {
      clientId: ctx.oidc.client?.clientId,
      sub: AccessToken?.accountId ?? Account?.accountId,
      grantType,
    });
  });

  const onAuthFailure = clientAuthFailure(audit);
  provider.on('grant.error', (ctx, err) => {
    const detail = (err as { error_detail?: string }).error_detail ?? '';
    const reuse = REUSE.exec(detail);
    if (reuse) {
      const { RefreshToken, AuthorizationCode } = ctx.oidc.entities;
      audit(reuse[1] === 'refresh token' ? 'refresh_token.reuse_detected' : 'authorization_code.reuse_detected', {
        clientId: ctx.oidc.client?.clientId,
        sub: RefreshToken?.accountId ?? AuthorizationCode?.accountId,
      });
      return;
    }
    onAuthFailure(ctx, err);
  });
  provider.on('introspection.error', onAuthFailure);
  provider.on('revocation.error', onAuthFailure);
  provider.on('pushed_authorization_request.error', onAuthFailure);

  // Model events carry the token, not the request: the request comes from oidc-provider's own async context.
  const revoked = (tokenType: string) => (token: { clientId?: string; accountId?: string }) => {
    if (Provider.ctx?.oidc?.route !== 'revocation') return;
    audit('token.revoked', { clientId: token.clientId, sub: token.accountId, tokenType });
  };
  provider.on('access_token.destroyed', revoked('AccessToken'));
  provider.on('refresh_token.destroyed', revoked('RefreshToken'));
  provider.on('client_credentials.destroyed', revoked('ClientCredentials'));

  provider.on('grant.revoked', (ctx) => {
    if (ctx.oidc.route === 'token') return;
    audit('grant.revoked', {
      clientId: ctx.oidc.client?.clientId,
      sub:
        ctx.oidc.entities.RefreshToken?.accountId ??
        ctx.oidc.entities.AccessToken?.accountId ??
        ctx.oidc.session?.accountId,
      reason: ctx.oidc.route,
    });
  });

  provider.on('end_session.success', (ctx) => {
    audit('logout', { clientId: ctx.oidc.client?.clientId, sub: ctx.oidc.session?.accountId });
  });
}
