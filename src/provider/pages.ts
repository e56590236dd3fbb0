/**
 * The pages oidc-provider renders itself (error, logout confirmation, signed out), drawn with the same
 * templates, language choice and error rendering as the rest of Gatehouse.
 *
 * The way back to an application comes from a registered client's metadata only (`clientSite`): the client
 * oidc-provider loaded for the request, never a URL taken from the request.
 */
import type { Context } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Language } from '../config/languages.ts';
import { type ClientSite, errorKind, renderErrorPage } from '../web/errors.ts';
import type { Messages } from '../web/i18n.ts';
import { cspNonce } from '../web/security-headers.ts';
import type { ViewName, Views } from '../web/views.ts';
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

/**
 * Answers with the page `view` in `language`, titled by the message `titleKey`; `values` fills the template and
 * may use that language's messages.
 */
export function sendPage(
  ctx: Context,
  views: Views,
  language: Language,
  view: ViewName,
  titleKey: string,
  values: (m: Messages) => Record<string, unknown>,
): void {
  const m = views.messages(language);
  ctx.type = 'html';
  ctx.body = views.render(view, { language, nonce: cspNonce(ctx.res), title: m.html(titleKey) }, values(m));
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
        const client = clientName(ctx);
        const brand = views.brandName;
        sendPage(ctx, views, languageOf(ctx, views), 'logout', 'logout.title', (m) => ({
          form,
          question: client
            ? m.html('logout.questionWithClient', { brand, client })
            : m.html('logout.question', { brand }),
        }));
      },
      // Reached after "Yes, sign me out" and after "No, stay signed in" alike: the page says what is true, so it
      // looks at the Gatehouse session. After "No" the session lives on; only the client that asked (if any) is
      // signed out (oidc-provider revokes that client's grant).
      async postLogoutSuccessSource(ctx: KoaContextWithOIDC) {
        const session = await ctx.oidc.provider.Session.get(ctx);
        const client = clientName(ctx);
        const brand = views.brandName;
        // Still signed in at Gatehouse (after "No") or not: the same page, with its own words and a close link only
        // when signed out.
        const key = session.accountId ? 'stillSignedIn' : 'loggedOut';
        sendPage(ctx, views, languageOf(ctx, views), 'logged-out', `${key}.title`, (m) => ({
          heading: m.html(`${key}.title`),
          message: client ? m.html(`${key}.messageWithClient`, { brand, client }) : m.html(`${key}.message`, { brand }),
          close: session.accountId ? '' : m.html('loggedOut.close'),
        }));
      },
    },
  };
}
