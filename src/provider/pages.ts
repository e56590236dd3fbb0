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
      // Reached after "Yes, sign me out" and after "No, stay signed in" alike: the page says what is true, so it
      // looks at the Gatehouse session. After "No" the session lives on; only the client that asked (if any) is
      // signed out (oidc-provider revokes that client's grant).
      async postLogoutSuccessSource(ctx: KoaContextWithOIDC) {
        const session = await ctx.oidc.provider.Session.get(ctx);
        const client = ctx.oidc.client?.clientName ?? ctx.oidc.client?.clientId;
        ctx.type = 'html';
        if (session.accountId) {
          ctx.body = views.render('logged-out', 'Still signed in', cspNonce(ctx.res), {
            heading: 'You are still signed in',
            message: client ? `You are still signed in to Gatehouse. Only ${client} signed you out.` : 'You are still signed in to Gatehouse. Nothing changed.',
          });
          return;
        }
        ctx.body = views.render('logged-out', 'Signed out', cspNonce(ctx.res), {
          heading: 'Signed out',
          message: `You are signed out of Gatehouse${clientSuffix(ctx)}.`,
        });
      },
    },
  };
}
