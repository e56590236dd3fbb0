/**
 * Gatehouse's own pages inside an authorization request: sign in, consent, cancel.
 *
 * Rules:
 * - Each route works only with the interaction cookie oidc-provider set for that very interaction (SameSite=Lax,
 *   so a cross-site POST arrives without it and fails) and, for POSTs, a same-origin `Origin`/`Sec-Fetch-Site`.
 * - A failed sign-in answers the same status, page and message whatever the reason (unknown user, wrong
 *   password, disabled or locked account, locked IP); the reason goes to the audit log only.
 * - A locked IP is answered at once: no lookup is used, no password hashed, nothing counted (same answer for
 *   every username). A password longer than MAX_PASSWORD_LENGTH is refused (400) before anything is hashed.
 * - Password checks wait in a bounded queue: full, the sign-in is answered 503 with Retry-After (nothing hashed,
 *   nothing counted); a check whose client went away while it waited is dropped.
 * - First-party clients get consent without a page (on a fresh sign-in, with the sign-in itself:
 *   first-party-consent.ts) for what their registration allows; others, and a first-party client asking for
 *   claims beyond its registered scopes, see the client, the host it returns to and every scope and claim the
 *   grant will hold (consent-details.ts).
 * - Pages speak the language the authorization request asked for (`ui_locales`), else the browser's.
 * - A page whose interaction is gone (completed, expired, or its cookie missing: typically the Back button)
 *   explains that and links to the registered client's site when the interaction record still names it.
 */
import type { Context, Middleware } from 'koa';
import type Provider from 'oidc-provider';
import type { InteractionResults } from 'oidc-provider';
import { HashingAborted, HashingBusy } from '../accounts/hashing-pool.ts';
import { MAX_PASSWORD_LENGTH } from '../accounts/passwords.ts';
import type { AccountService } from '../accounts/service.ts';
import type { Audit } from '../audit/audit.ts';
import type { Config } from '../config/types.ts';
import { assertSameOrigin, readForm } from '../web/body.ts';
import { HttpError } from '../web/errors.ts';
import type { Language } from '../config/languages.ts';
import type { Messages } from '../web/i18n.ts';
import { escapeHtml, type ViewName, type Views } from '../web/views.ts';
import { ACR_PASSWORD } from '../accounts/mfa/acr.ts';
import { finishInteraction } from '../provider/oidc-internals.ts';
import { clientSite, sendPage } from '../provider/pages.ts';
import { consentItems, firstPartyCovers, type MissingConsent, returnHost } from './consent-details.ts';
import { firstPartyGrant } from './first-party-consent.ts';
import type { LoginGuard } from '../accounts/login-guard.ts';
import { secondFactor } from './second-factor.ts';
import type { MfaService } from '../accounts/mfa/service.ts';
import { clientMetadata } from '../provider/client-metadata.ts';

interface InteractionDeps {
  config: Config;
  provider: Provider;
  accounts: AccountService;
  views: Views;
  guard: LoginGuard;
  audit: Audit;
  mfa: MfaService;
}

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

/** Retry-After of a sign-in refused because the hashing queue is full: the queue drains within about a second. */
const BUSY_RETRY_SECONDS = 1;

/** Fires when the client closes the connection before its answer was sent. */
function abandoned(ctx: Context): AbortSignal {
  const controller = new AbortController();
  const onClose = () => {
    if (!ctx.res.writableFinished) controller.abort();
  };
  ctx.res.once('close', onClose);
  return controller.signal;
}

const ROUTE = /^\/interaction\/([A-Za-z0-9_-]{1,64})(?:\/(login|confirm|abort|mfa|passkey))?$/;

export function interactionRoutes(deps: InteractionDeps): Middleware {
  const { config, provider, views } = deps;
  const issuerOrigin = new URL(config.issuer).origin;

  function language(ctx: Context, d?: Details): Language {
    return views.language({ uiLocales: d?.params.ui_locales, acceptLanguage: ctx.get('accept-language') });
  }

  /** The "page expired" error, with a way back to the client the interaction record names, if it still exists. */
  async function expired(ctx: Context, uid: string, description: string): Promise<HttpError> {
    const record = await provider.Interaction.find(uid);
    const clientId = record?.params.client_id;
    const client = typeof clientId === 'string' ? await provider.Client.find(clientId) : undefined;
    const lang = views.language({ uiLocales: record?.params.ui_locales, acceptLanguage: ctx.get('accept-language') });
    return new HttpError(
      400,
      'invalid_request',
      description,
      {},
      { kind: 'expired', back: clientSite(client), language: lang },
    );
  }

  async function details(ctx: Context, uid: string): Promise<Details> {
    let d: Details;
    try {
      d = await provider.interactionDetails(ctx.req, ctx.res);
    } catch (err) {
      if ((err as Error).name === 'SessionNotFound')
        throw await expired(
          ctx,
          uid,
          (err as { error_description?: string }).error_description ?? 'interaction not found',
        );
      throw err;
    }
    if (d.uid !== uid) throw await expired(ctx, uid, 'interaction mismatch, start the sign-in again');
    return d;
  }

  const steps = secondFactor({
    config,
    provider,
    views,
    mfa: deps.mfa,
    guard: deps.guard,
    audit: deps.audit,
    language,
    finish: finishInteraction,
    findAccount: (id) => deps.accounts.findById(id),
  });

  function clientName(d: Details, client: { clientName?: string; clientId: string } | undefined): string {
    return client?.clientName ?? client?.clientId ?? String(d.params.client_id);
  }

  // After a failed sign-in the password field takes the focus (the username is kept), and both fields point at the
  // message. On a first visit the username field has it, or the password field when login_hint filled the username.
  async function renderLogin(
    ctx: Context,
    d: Details,
    client: { clientName?: string; clientId: string } | undefined,
    username: string,
    failed: boolean,
  ): Promise<void> {
    const invalid = failed ? ' aria-invalid="true" aria-describedby="login-error"' : '';
    const passwordFirst = failed || username !== '';
    const passkeyOptions = await steps.passkeyOptions(d);
    sendInteractionPage(ctx, d, 'login', 'login.title', (m) => ({
      client: clientName(d, client),
      action: `/interaction/${d.uid}/login`,
      abortAction: `/interaction/${d.uid}/abort`,
      passkeyAction: `/interaction/${d.uid}/passkey`,
      passkeyOptions,
      username,
      usernameAttrs: `${invalid}${passwordFirst ? '' : ' autofocus'}`,
      passwordAttrs: `${invalid}${passwordFirst ? ' autofocus' : ''}`,
      errorBlock: failed ? `<p class="alert" id="login-error" role="alert">${m.html('login.failed')}</p>` : '',
      forgotBlock:
        (config.account.passwordResetEnabled
          ? `<p class="secondary"><a href="/account/forgot">${m.html('account.forgot.link')}</a></p>`
          : '') +
        (config.account.registrationEnabled
          ? `<p class="secondary"><a href="/account/register">${m.html('account.register.link')}</a></p>`
          : ''),
    }));
  }

  /** Answers with the interaction page `view`, in the request's language, titled by the message `titleKey`; never cached. */
  function sendInteractionPage(
    ctx: Context,
    d: Details,
    view: ViewName,
    titleKey: string,
    values: (m: Messages) => Record<string, unknown>,
  ): void {
    ctx.set('Cache-Control', 'no-store');
    sendPage(ctx, views, language(ctx, d), view, titleKey, values);
  }

  async function grantConsent(d: Details): Promise<InteractionResults> {
    const { details: missing } = d.prompt;
    const accountId = d.session?.accountId;
    if (!accountId) throw new HttpError(400, 'invalid_request', 'no signed-in user for this consent');
    const grant = d.grantId
      ? await provider.Grant.find(d.grantId)
      : new provider.Grant({ accountId, clientId: String(d.params.client_id) });
    if (!grant) throw new HttpError(400, 'invalid_request', 'the grant expired, start the sign-in again');
    const scopes = missing.missingOIDCScope as string[] | undefined;
    if (scopes) grant.addOIDCScope(scopes.join(' '));
    const claims = missing.missingOIDCClaims as string[] | undefined;
    if (claims) grant.addOIDCClaims(claims);
    const resources = missing.missingResourceScopes as Record<string, string[]> | undefined;
    for (const [indicator, s] of Object.entries(resources ?? {})) grant.addResourceScope(indicator, s.join(' '));
    const grantId = await grant.save();
    return { consent: d.grantId ? {} : { grantId } };
  }

  async function show(ctx: Context, uid: string): Promise<void> {
    const d = await details(ctx, uid);
    const client = await provider.Client.find(String(d.params.client_id));
    if (d.prompt.name === 'login') {
      if (await steps.show(ctx, d)) return undefined;
      const hint = typeof d.params.login_hint === 'string' ? d.params.login_hint.slice(0, 64) : '';
      return renderLogin(ctx, d, client, hint, false);
    }
    if (d.prompt.name === 'consent') {
      const missing = d.prompt.details as MissingConsent;
      if (
        client !== undefined &&
        clientMetadata(client).first_party === true &&
        firstPartyCovers(missing, client.scope)
      ) {
        deps.audit('consent.granted', { clientId: client.clientId, sub: d.session?.accountId, reason: 'first_party' });
        return finishInteraction(ctx, d, await grantConsent(d), true);
      }
      sendInteractionPage(ctx, d, 'consent', 'consent.title', (m) => ({
        client: clientName(d, client),
        host: returnHost(d.params.redirect_uri, client?.redirectUris ?? []),
        action: `/interaction/${d.uid}/confirm`,
        scopeItems: consentItems(missing)
          .map((i) => `<li>${m.html(i.key, i.values)} <small>(${escapeHtml(i.code)})</small></li>`)
          .join('\n'),
      }));
      return undefined;
    }
    throw new HttpError(400, 'invalid_request', `unsupported interaction ${d.prompt.name}`);
  }

  async function login(ctx: Context, uid: string): Promise<void> {
    assertSameOrigin(ctx, issuerOrigin);
    const d = await details(ctx, uid);
    if (d.prompt.name !== 'login') throw new HttpError(400, 'invalid_request', 'this sign-in step is already complete');
    const form = await readForm(ctx, config.bodyLimitBytes);
    const username = (form.get('username') ?? '').trim();
    const password = form.get('password') ?? '';
    if (password.length > MAX_PASSWORD_LENGTH)
      throw new HttpError(400, 'invalid_request', `password must be at most ${MAX_PASSWORD_LENGTH} characters`);
    const clientId = String(d.params.client_id);
    const ip = ctx.ip;
    // The throttle's counters, the account and the client's record are read in the same tick (one Redis round
    // trip with auto-pipelining); the account is only used when the guard allows the attempt.
    const [verdict, found, client] = await Promise.all([
      deps.guard.check(username, ip),
      deps.accounts.lookup(username),
      provider.Client.find(clientId),
    ]);
    if (!verdict.allowed && verdict.reason === 'throttled') {
      deps.audit('login.failure', { clientId, reason: verdict.reason, ip });
      ctx.status = 401;
      return renderLogin(ctx, d, client, username.slice(0, 64), true);
    }
    let accountId: string | undefined;
    let reason: string;
    const signal = abandoned(ctx);
    try {
      if (!verdict.allowed) {
        // A locked username: spend the same time a real check would, so a lock cannot be told apart by timing.
        await deps.accounts.verify(undefined, password, signal);
        reason = verdict.reason;
      } else {
        const result = await deps.accounts.verify(found, password, signal);
        accountId = result.account?.id;
        reason = result.failure ?? 'ok';
      }
    } catch (err) {
      if (err instanceof HashingBusy) {
        deps.audit('login.busy', { clientId, ip });
        throw new HttpError(503, 'temporarily_unavailable', 'too many sign-ins right now, try again in a moment', {
          'Retry-After': String(BUSY_RETRY_SECONDS),
        });
      }
      // Nobody is waiting for this answer any more.
      if (err instanceof HashingAborted) throw new HttpError(400, 'invalid_request', 'the request was abandoned');
      throw err;
    }
    if (!accountId) {
      await deps.guard.failed(username, ip);
      deps.audit('login.failure', { clientId, reason, ip });
      ctx.status = 401;
      return renderLogin(ctx, d, client, username.slice(0, 64), true);
    }
    deps.audit('login.success', { clientId, sub: accountId, ip });
    if (await steps.afterPassword(ctx, d, client, found as NonNullable<typeof found>)) {
      await deps.guard.succeeded(username, ip);
      return undefined;
    }
    // Clearing the username's failures and saving a first-party client's grant go out together.
    const [, grantId] = await Promise.all([
      deps.guard.succeeded(username, ip),
      firstPartyGrant(provider, config, d, client, accountId),
    ]);
    if (grantId) deps.audit('consent.granted', { clientId, sub: accountId, reason: 'first_party' });
    const login = { accountId, acr: ACR_PASSWORD, amr: ['pwd'], remember: true };
    return finishInteraction(ctx, d, grantId ? { login, consent: { grantId } } : { login }, false);
  }

  async function confirm(ctx: Context, uid: string): Promise<void> {
    assertSameOrigin(ctx, issuerOrigin);
    const d = await details(ctx, uid);
    if (d.prompt.name !== 'consent') throw new HttpError(400, 'invalid_request', 'nothing to consent to');
    const form = await readForm(ctx, config.bodyLimitBytes);
    const decision = form.get('decision');
    if (decision === 'allow') {
      deps.audit('consent.granted', { clientId: d.params.client_id, sub: d.session?.accountId });
      return finishInteraction(ctx, d, await grantConsent(d), true);
    }
    if (decision === 'deny') {
      deps.audit('consent.denied', { clientId: d.params.client_id, sub: d.session?.accountId });
      return finishInteraction(
        ctx,
        d,
        { error: 'access_denied', error_description: 'the user denied the request' },
        false,
      );
    }
    throw new HttpError(400, 'invalid_request', 'decision must be allow or deny');
  }

  async function abort(ctx: Context, uid: string): Promise<void> {
    assertSameOrigin(ctx, issuerOrigin);
    const d = await details(ctx, uid);
    return finishInteraction(
      ctx,
      d,
      { error: 'access_denied', error_description: 'the user cancelled the sign-in' },
      false,
    );
  }

  const handle = async (ctx: Context, match: RegExpExecArray): Promise<void> => {
    const [, uid, action] = match as unknown as [string, string, string | undefined];
    if (!action && ctx.method === 'GET') return show(ctx, uid);
    if (ctx.method !== 'POST' || !action) {
      ctx.set('Allow', action ? 'POST' : 'GET');
      throw new HttpError(405, 'invalid_request', 'method not allowed');
    }
    if (action === 'login') return login(ctx, uid);
    if (action === 'mfa' || action === 'passkey') {
      assertSameOrigin(ctx, issuerOrigin);
      const d = await details(ctx, uid);
      if (d.prompt.name !== 'login')
        throw new HttpError(400, 'invalid_request', 'this sign-in step is already complete');
      return action === 'mfa' ? steps.verify(ctx, d) : steps.passkey(ctx, d);
    }
    if (action === 'confirm') return confirm(ctx, uid);
    return abort(ctx, uid);
  };
  return (ctx, next) => {
    const match = ROUTE.exec(ctx.path);
    return match ? handle(ctx, match) : next();
  };
}
