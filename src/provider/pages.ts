/**
 * The pages oidc-provider renders itself (error, logout confirmation, signed out), drawn with the same
 * templates, language choice and error rendering as the rest of Gatehouse.
 *
 * The way back to an application comes from a registered client's metadata only (`clientSite`): the client
 * oidc-provider loaded for the request, never a URL taken from the request.
 */
import type { KoaContextWithOIDC } from 'oidc-provider';
import { type ClientSite, errorKind, renderErrorPage } from '../web/errors.ts';
import { cspNonce } from '../web/security-headers.ts';
import type { Views } from '../web/views.ts';
import { clientMetadata } from './client-metadata.ts';

interface RegisteredClient {
  clientId: string;
  clientName?: string | undefined;
  redirectUris?: readonly string[] | undefined;
  metadata(): Record<string, unknown>;
}

function webUrl(value: unknown): URL | undefined {
  if (typeof value !== 'string' || !URL.canParse(value)) return undefined;
  const url = new URL(value);
  return url.protocol === 'https:' || url.protocol === 'http:' ? url : undefined;
}

/** A registered client's site: its `client_uri`, else the origin of its first web redirect URI. */
export function clientSite(client: RegisteredClient | undefined): ClientSite | undefined {
  if (!client) return undefined;
  const url =
    webUrl(clientMetadata(client).client_uri)?.href ??
    client.redirectUris?.map(webUrl).find((u) => u !== undefined)?.origin;
  return url ? { name: client.clientName ?? client.clientId, url } : undefined;
}

function languageOf(ctx: KoaContextWithOIDC, views: Views) {
  return views.language({ uiLocales: ctx.oidc?.params?.ui_locales, acceptLanguage: ctx.get('accept-language') });
}

export function pageRenderers(views: Views) {
  function clientName(ctx: KoaContextWithOIDC): string | undefined {
    const client = ctx.oidc.client;
    return client?.clientName ?? client?.clientId;
  }

  return {
    renderError: async (ctx: KoaContextWithOIDC, out: { error: string; error_description?: string }, err: unknown) => {
      renderErrorPage(ctx, views, {
        error: out.error,
        description: out.error_description,
        kind: errorKind(err, out.error, out.error_description),
        language: languageOf(ctx, views),
        back: clientSite(ctx.oidc?.client),
      });
    },
    logout: {
      async logoutSource(ctx: KoaContextWithOIDC, form: string) {
        const language = languageOf(ctx, views);
        const m = views.messages(language);
        const client = clientName(ctx);
        const brand = views.brandName;
        ctx.type = 'html';
        ctx.body = views.render(
          'logout',
          { language, nonce: cspNonce(ctx.res), title: m.html('logout.title') },
          {
            form,
            question: client
              ? m.html('logout.questionWithClient', { brand, client })
              : m.html('logout.question', { brand }),
          },
        );
      },
      // Reached after "Yes, sign me out" and after "No, stay signed in" alike: the page says what is true, so it
      // looks at the Gatehouse session. After "No" the session lives on; only the client that asked (if any) is
      // signed out (oidc-provider revokes that client's grant).
      async postLogoutSuccessSource(ctx: KoaContextWithOIDC) {
        const session = await ctx.oidc.provider.Session.get(ctx);
        const language = languageOf(ctx, views);
        const m = views.messages(language);
        const client = clientName(ctx);
        const brand = views.brandName;
        ctx.type = 'html';
        if (session.accountId) {
          ctx.body = views.render(
            'logged-out',
            { language, nonce: cspNonce(ctx.res), title: m.html('stillSignedIn.title') },
            {
              heading: m.html('stillSignedIn.title'),
              message: client
                ? m.html('stillSignedIn.messageWithClient', { brand, client })
                : m.html('stillSignedIn.message', { brand }),
              close: '',
            },
          );
          return;
        }
        ctx.body = views.render(
          'logged-out',
          { language, nonce: cspNonce(ctx.res), title: m.html('loggedOut.title') },
          {
            heading: m.html('loggedOut.title'),
            message: client
              ? m.html('loggedOut.messageWithClient', { brand, client })
              : m.html('loggedOut.message', { brand }),
            close: m.html('loggedOut.close'),
          },
        );
      },
    },
  };
}
