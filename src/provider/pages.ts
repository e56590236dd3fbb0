/**
 * The pages oidc-provider renders itself (error, logout confirmation, signed out), drawn with the same
 * templates and the same error rendering as the rest of Gatehouse.
 */
import type { KoaContextWithOIDC } from 'oidc-provider';
import { renderErrorPage } from '../http/errors.ts';
import { cspNonce } from '../http/security-headers.ts';
import type { Views } from '../http/views.ts';

function clientSuffix(ctx: KoaContextWithOIDC): string {
  const client = ctx.oidc.client;
  const name = client?.clientName ?? client?.clientId;
  return name ? ` and ${name}` : '';
}

export function pageRenderers(views: Views) {
  return {
    renderError: async (ctx: KoaContextWithOIDC, out: { error: string; error_description?: string }) => {
      renderErrorPage(ctx, views, out.error, out.error_description);
    },
    logout: {
      async logoutSource(ctx: KoaContextWithOIDC, form: string) {
        ctx.type = 'html';
        ctx.body = views.render('logout', 'Sign out', cspNonce(ctx.res), { form, clientSuffix: clientSuffix(ctx) });
      },
      async postLogoutSuccessSource(ctx: KoaContextWithOIDC) {
        ctx.type = 'html';
        ctx.body = views.render('logged-out', 'Signed out', cspNonce(ctx.res), { clientSuffix: clientSuffix(ctx) });
      },
    },
  };
}
