/**
 * The account center's pages: /account (devices, connected applications, password), /account/forgot and /account/reset/<token>.
 *
 * Rules (the sign-in pages' rules, docs/security.md, plus):
 * - /account needs a signed-in Gatehouse session; without one it starts a sign-in for Gatehouse's own
 *   first-party client (ACCOUNT_CLIENT_ID) and comes back. Every POST needs a same-origin request and the
 *   session's form token (an HMAC of the session id under the cookie key).
 * - The forgot-password answer is the same page whatever was entered; the mail goes out after the answer, so
 *   its timing does not depend on the account either. Limits: per IP (429) and per account (silently no mail).
 * - A reset link is single use (atomic consume), valid `account.resetLinkTtlSeconds`, and ends every session of
 *   the account.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import type Provider from 'oidc-provider';
import type { ClientMetadata } from 'oidc-provider';
import type { Logger } from 'pino';
import { PasswordRejected, type PasswordPolicy } from '../accounts/password-policy.ts';
import { MAX_PASSWORD_LENGTH } from '../accounts/passwords.ts';
import { AccountError, type AccountService, USERNAME_PATTERN } from '../accounts/service.ts';
import type { Audit } from '../audit/audit.ts';
import type { Config } from '../config/types.ts';
import { assertSameOrigin, readForm } from '../web/body.ts';
import { HttpError } from '../web/errors.ts';
import type { Language } from '../config/languages.ts';
import { cspNonce } from '../web/security-headers.ts';
import { escapeHtml, type Views } from '../web/views.ts';
import type { LoginGuard } from '../accounts/login-guard.ts';
import type { Account, Store } from '../storage/types.ts';
import type { Mailer } from './mail.ts';
import { findByEmail } from './email-index.ts';
import { type GrantDeps, listConnectedApps, removeAccess } from './grants.ts';
import { endSessions, listSessions, type SessionDeps, touchSession } from './sessions.ts';
import { hashToken, newToken, TOKEN_PATTERN } from './tokens.ts';
import { confirmVerification, sendVerification, type VerificationDeps } from './verification.ts';

/** Gatehouse's own client for signing in to /account. */
export const ACCOUNT_CLIENT_ID = 'gatehouse-account';
/** Reset requests: per client IP and per account, in RESET_WINDOW_SECONDS. */
const RESET_PER_IP = 10;
const RESET_PER_ACCOUNT = 3;
const RESET_WINDOW_SECONDS = 3600;
/** An address a mail can go to: something@something, no spaces, at most 254 characters (RFC 5321). */
const EMAIL = /^(?=.{3,254}$)[^\s@]+@[^\s@]+$/;

export function accountClient(config: Config): ClientMetadata {
  return {
    client_id: ACCOUNT_CLIENT_ID,
    client_name: `${config.brand.name} account`,
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: [new URL('/account/callback', config.issuer).href],
    scope: 'openid',
    first_party: true,
  };
}

/** Where /account/callback may send the browser back to: a fixed list, so the `state` cannot redirect elsewhere. */
const RETURN_PAGES = { account: '/account', security: '/account/security' } as const;
type ReturnPage = (typeof RETURN_PAGES)[keyof typeof RETURN_PAGES];

/** A sign-in for Gatehouse's own client that comes back to `page` with a Gatehouse session. */
export function accountSignInUrl(config: Config, page: ReturnPage): string {
  const url = new URL('/auth', config.issuer);
  url.search = new URLSearchParams({
    client_id: ACCOUNT_CLIENT_ID,
    response_type: 'code',
    scope: 'openid',
    redirect_uri: new URL('/account/callback', config.issuer).href,
    // The code is never redeemed: the sign-in's purpose is the Gatehouse session it leaves behind.
    code_challenge: randomBytes(32).toString('base64url'),
    code_challenge_method: 'S256',
    state: Object.entries(RETURN_PAGES).find(([, path]) => path === page)?.[0] ?? 'account',
  }).toString();
  return url.href;
}

interface AccountDeps {
  config: Config;
  provider: Provider;
  store: Store;
  accounts: AccountService;
  policy: PasswordPolicy;
  views: Views;
  guard: LoginGuard;
  audit: Audit;
  mailer: Mailer;
  log: Logger;
  cookieKey: string;
  /** Back-channel logout for every session the account center ends. */
  notifyLogout?: SessionDeps['notifyLogout'];
}

type Session = Awaited<ReturnType<Provider['Session']['get']>>;

export function accountRoutes(deps: AccountDeps): Middleware {
  const { config, provider, views, accounts } = deps;
  const issuerOrigin = new URL(config.issuer).origin;
  const sessions: SessionDeps = {
    provider,
    index: deps.store.sessionIndex,
    ttlSeconds: config.ttl.session,
    audit: deps.audit,
    ...(deps.notifyLogout ? { notifyLogout: deps.notifyLogout } : {}),
  };
  const resetTtl = config.account.resetLinkTtlSeconds;
  const resetMinutes = String(Math.max(1, Math.ceil(resetTtl / 60)));
  const verification: VerificationDeps = { config, store: deps.store, mailer: deps.mailer };
  const grants: GrantDeps = { provider, index: deps.store.grantIndex, audit: deps.audit };

  const formToken = (session: Session) =>
    createHmac('sha256', deps.cookieKey).update(`account-form:${session.uid}`).digest('base64url');

  function checkFormToken(session: Session, given: string | undefined): void {
    const expected = Buffer.from(formToken(session));
    const actual = Buffer.from(given ?? '');
    if (actual.length !== expected.length || !timingSafeEqual(actual, expected))
      throw new HttpError(403, 'invalid_request', 'the form expired, open the page again');
  }

  const language = (ctx: Context): Language => views.language({ acceptLanguage: ctx.get('accept-language') });

  function page(
    ctx: Context,
    name: Parameters<Views['render']>[0],
    titleKey: string,
    values: Record<string, unknown>,
  ): void {
    const lang = language(ctx);
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = views.render(
      name,
      { language: lang, nonce: cspNonce(ctx.res), title: views.messages(lang).html(titleKey) },
      values,
    );
  }

  /** The signed-in session and its account, or undefined (no session, ended, or the account is gone/disabled). */
  async function signedIn(ctx: Context): Promise<{ session: Session; account: Account } | undefined> {
    const session = await provider.Session.get(ctx as never);
    if (!session.accountId) return undefined;
    const account = await accounts.findById(session.accountId);
    if (!account || account.disabled) return undefined;
    return { session, account };
  }

  function startSignIn(ctx: Context): void {
    ctx.status = 303;
    ctx.redirect(accountSignInUrl(config, '/account'));
  }

  /**
   * Whether `current` is the account's password, checked under the sign-in throttle: a locked username or IP
   * costs the same hashing but never succeeds, and a wrong password counts as a failed sign-in.
   */
  async function currentPasswordHolds(ctx: Context, account: Account, current: string): Promise<boolean> {
    const verdict = await deps.guard.check(account.username, ctx.ip);
    const result = verdict.allowed
      ? await accounts.verify(account, current)
      : await accounts.verify(undefined, current);
    if (!result.account) await deps.guard.failed(account.username, ctx.ip);
    return result.account !== undefined;
  }

  async function showAccount(ctx: Context, notice?: { key: string; error?: boolean }, status = 200): Promise<void> {
    const who = await signedIn(ctx);
    if (!who) return startSignIn(ctx);
    const { session, account } = who;
    await touchSession(sessions, account.id, session.uid, ctx.get('user-agent'), ctx.ip);
    const lang = language(ctx);
    const m = views.messages(lang);
    const devices = await listSessions(sessions, account.id);
    const clientNames = new Map<string, string>();
    for (const id of new Set(devices.flatMap((d) => d.clientIds))) {
      const client = await provider.Client.find(id);
      clientNames.set(id, client?.clientName ?? id);
    }
    const date = (ms: number | undefined) =>
      ms === undefined
        ? ''
        : new Date(ms).toLocaleString(lang === 'de' ? 'de-DE' : 'en-GB', {
            dateStyle: 'medium',
            timeStyle: 'short',
            timeZone: 'UTC',
          });
    const csrf = escapeHtml(formToken(session));
    const deviceItems = devices
      .map((d) => {
        const current = d.uid === session.uid;
        const apps = d.clientIds.map((id) => escapeHtml(clientNames.get(id))).join(', ');
        return `<li class="device"${current ? ' aria-current="true"' : ''}>
<p><strong>${escapeHtml(d.browser || m.html('account.devices.unknownBrowser'))}</strong> · ${escapeHtml(d.os || m.html('account.devices.unknownOs'))}${current ? ` <span class="badge">${m.html('account.devices.current')}</span>` : ''}</p>
<p><small>${m.html('account.devices.details', { ip: d.ip, signedIn: date(d.signedInAt === undefined ? undefined : d.signedInAt * 1000), lastSeen: date(d.lastSeenAt) })}</small></p>
${apps ? `<p><small>${m.html('account.devices.apps')} ${apps}</small></p>` : ''}
${current ? '' : `<form method="post" action="/account/sessions/end"><input type="hidden" name="csrf" value="${csrf}"><input type="hidden" name="session" value="${escapeHtml(d.uid)}"><button type="submit" class="link">${m.html('account.devices.signOut')}</button></form>`}
</li>`;
      })
      .join('\n');
    const appItems = (await listConnectedApps(grants, account.id))
      .map(
        (app) => `<li class="app">
<p><strong>${escapeHtml(app.clientName)}</strong></p>
<ul>${app.items.map((item) => `<li>${m.html(item.key, item.values)}</li>`).join('')}</ul>
<p><small>${m.html(app.offline ? 'account.apps.detailsOffline' : 'account.apps.detailsOnline', { since: date(app.since === undefined ? undefined : app.since * 1000) })}</small></p>
<form method="post" action="/account/apps/remove"><input type="hidden" name="csrf" value="${csrf}"><input type="hidden" name="client" value="${escapeHtml(app.clientId)}"><button type="submit" class="link" aria-label="${m.html('account.apps.removeNamed', { name: app.clientName })}">${m.html('account.apps.remove')}</button></form>
</li>`,
      )
      .join('\n');
    ctx.status = status;
    const emailStatus = account.email
      ? `<p>${m.html(account.emailVerified ? 'account.email.verified' : 'account.email.unverified', { email: account.email })}</p>${
          account.emailVerified
            ? ''
            : `<form method="post" action="/account/email/resend"><input type="hidden" name="csrf" value="${csrf}"><button type="submit" class="link">${m.html('account.email.resend')}</button></form>`
        }`
      : `<p>${m.html('account.email.none')}</p>`;
    page(ctx, 'account', 'account.title', {
      emailStatus,
      appsBlock: appItems ? `<ul class="apps">\n${appItems}\n</ul>` : `<p>${m.html('account.apps.none')}</p>`,
      username: account.username,
      email: account.email ?? '',
      csrf: formToken(session),
      minLength: String(deps.policy.minLength),
      noticeBlock: notice
        ? `<p class="${notice.error ? 'alert' : 'notice'}" role="${notice.error ? 'alert' : 'status'}">${m.html(notice.key)}</p>`
        : '',
      deviceItems,
      othersBlock:
        devices.length > 1
          ? `<form method="post" action="/account/sessions/end"><input type="hidden" name="csrf" value="${csrf}"><input type="hidden" name="session" value="others"><button type="submit">${m.html('account.devices.signOutOthers')}</button></form>`
          : '',
    });
  }

  async function requireForm(
    ctx: Context,
  ): Promise<{ session: Session; account: Account; form: Map<string, string> } | undefined> {
    assertSameOrigin(ctx, issuerOrigin);
    const form = await readForm(ctx, config.bodyLimitBytes);
    const who = await signedIn(ctx);
    if (!who) {
      startSignIn(ctx);
      return undefined;
    }
    checkFormToken(who.session, form.get('csrf'));
    return { ...who, form };
  }

  async function endSessionsRoute(ctx: Context): Promise<void> {
    const got = await requireForm(ctx);
    if (!got) return;
    const { session, account, form } = got;
    const which = form.get('session') ?? '';
    if (which === 'others') {
      const others = (await listSessions(sessions, account.id)).map((d) => d.uid).filter((uid) => uid !== session.uid);
      await endSessions(sessions, account.id, others, 'signout_others');
      return showAccount(ctx, { key: 'account.devices.signedOutOthers' });
    }
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(which) || which === session.uid)
      throw new HttpError(400, 'invalid_request', 'session must name another of your sessions');
    await endSessions(sessions, account.id, [which], 'device_signout');
    return showAccount(ctx, { key: 'account.devices.signedOut' });
  }

  async function removeAccessRoute(ctx: Context): Promise<void> {
    const got = await requireForm(ctx);
    if (!got) return;
    const clientId = got.form.get('client') ?? '';
    if (clientId === '' || clientId.length > 255)
      throw new HttpError(400, 'invalid_request', 'client must name an application');
    const removed = await removeAccess(grants, got.account.id, clientId);
    if (removed === 0)
      throw new HttpError(400, 'invalid_request', 'client must name an application connected to your account');
    return showAccount(ctx, { key: 'account.apps.removed' });
  }

  /** Changing the email needs the password (the address receives reset links); the new one starts unverified. */
  async function changeEmail(ctx: Context): Promise<void> {
    const got = await requireForm(ctx);
    if (!got) return;
    const { account, form } = got;
    const email = (form.get('email') ?? '').trim();
    const current = form.get('current') ?? '';
    if (current.length > MAX_PASSWORD_LENGTH)
      throw new HttpError(400, 'invalid_request', `password must be at most ${MAX_PASSWORD_LENGTH} characters`);
    if (!EMAIL.test(email)) return showAccount(ctx, { key: 'account.email.invalid', error: true }, 400);
    if (!(await currentPasswordHolds(ctx, account, current))) {
      return showAccount(ctx, { key: 'account.password.wrongCurrent', error: true }, 400);
    }
    const previous = account.email;
    const updated = await accounts.updateProfile(account.username, { email });
    deps.audit('account.email_changed', { sub: account.id, ip: ctx.ip });
    const lang = language(ctx);
    // A mail that fails does not undo the change: the user can ask for the link again.
    const failed = (err: unknown) =>
      deps.log.error({ err: { message: (err as Error).message } }, 'account mail failed');
    if (!updated.emailVerified) await sendVerification(verification, updated, lang).catch(failed);
    if (previous && previous.toLowerCase() !== email.toLowerCase())
      await deps.mailer
        .send({ to: previous, name: 'email-changed', language: lang, values: { newEmail: email } })
        .catch(failed);
    return showAccount(ctx, { key: 'account.email.changed' });
  }

  async function resendVerification(ctx: Context): Promise<void> {
    const got = await requireForm(ctx);
    if (!got) return;
    if (got.account.email && !got.account.emailVerified)
      await sendVerification(verification, got.account, language(ctx));
    return showAccount(ctx, { key: 'account.email.resent' });
  }

  function verifyPage(ctx: Context, token: string): void {
    page(ctx, 'account-verify', 'account.verify.title', { action: `/account/verify/${token}` });
  }

  async function verify(ctx: Context, token: string): Promise<void> {
    assertSameOrigin(ctx, issuerOrigin);
    await readForm(ctx, config.bodyLimitBytes);
    const account = await confirmVerification(verification, token);
    if (!account) return linkRefused(ctx, 'verify');
    deps.audit('account.email_verified', { sub: account.id, ip: ctx.ip });
    const m = views.messages(language(ctx));
    page(ctx, 'account-notice', 'account.verify.doneTitle', {
      heading: m.html('account.verify.doneTitle'),
      message: m.html('account.verify.done'),
    });
  }

  async function changePassword(ctx: Context): Promise<void> {
    const got = await requireForm(ctx);
    if (!got) return;
    const { session, account, form } = got;
    const current = form.get('current') ?? '';
    const next = form.get('password') ?? '';
    if (current.length > MAX_PASSWORD_LENGTH || next.length > MAX_PASSWORD_LENGTH)
      throw new HttpError(400, 'invalid_request', `password must be at most ${MAX_PASSWORD_LENGTH} characters`);
    if (!(await currentPasswordHolds(ctx, account, current))) {
      return showAccount(ctx, { key: 'account.password.wrongCurrent', error: true }, 400);
    }
    try {
      await accounts.setPassword(account.username, next);
    } catch (err) {
      if (err instanceof AccountError && err.code === 'INVALID_PASSWORD')
        return showAccount(ctx, { key: 'account.password.rejected', error: true }, 400);
      throw err;
    }
    deps.audit('account.password_changed', { sub: account.id, ip: ctx.ip });
    if (form.get('signOutOthers') === 'on') {
      const others = (await listSessions(sessions, account.id)).map((d) => d.uid).filter((uid) => uid !== session.uid);
      await endSessions(sessions, account.id, others, 'password_change', { keepOffline: true });
    }
    return showAccount(ctx, { key: 'account.password.changed' });
  }

  function forgotPage(ctx: Context, sent: boolean): void {
    const m = views.messages(language(ctx));
    page(ctx, 'account-forgot', 'account.forgot.title', {
      noticeBlock: sent
        ? `<p class="notice" role="status">${m.html('account.forgot.sent', { minutes: resetMinutes })}</p>`
        : '',
    });
  }

  /** By username, else by email through the email index: one or two lookups, whatever the number of accounts. */
  async function findForReset(identifier: string): Promise<Account | undefined> {
    const byName = await accounts.lookup(identifier);
    if (byName || !identifier.includes('@')) return byName;
    return findByEmail(deps.store, identifier);
  }

  async function requestReset(ctx: Context): Promise<void> {
    assertSameOrigin(ctx, issuerOrigin);
    const form = await readForm(ctx, config.bodyLimitBytes);
    const identifier = (form.get('identifier') ?? '').trim().slice(0, 254);
    if ((await deps.store.throttle.hit(`reset-ip:${ctx.ip}`, RESET_WINDOW_SECONDS)) > RESET_PER_IP) {
      deps.audit('account.reset_requested', { reason: 'throttled', ip: ctx.ip });
      throw new HttpError(429, 'invalid_request', 'too many reset requests, try again later', {
        'Retry-After': String(RESET_WINDOW_SECONDS),
      });
    }
    const account = identifier ? await findForReset(identifier) : undefined;
    const lang = language(ctx);
    forgotPage(ctx, true);
    if (!account?.email || account.disabled) {
      deps.audit('account.reset_requested', { reason: 'unknown', ip: ctx.ip });
      return;
    }
    // After the answer: neither the mail nor the account's own limit changes what the requester sees, or when.
    const to = account.email;
    const accountId = account.id;
    ctx.res.once('finish', () => {
      void (async () => {
        if ((await deps.store.throttle.hit(`reset-account:${accountId}`, RESET_WINDOW_SECONDS)) > RESET_PER_ACCOUNT) {
          deps.audit('account.reset_requested', { sub: accountId, reason: 'throttled', ip: ctx.ip });
          return;
        }
        const { token, hash } = newToken();
        const expiresAt = Date.now() + resetTtl * 1000;
        await deps.store.oneTimeTokens.put(
          hash,
          { purpose: 'reset', accountId, data: { expiresAt: String(expiresAt) } },
          resetTtl,
        );
        await deps.mailer.send({
          to,
          name: 'reset',
          language: lang,
          values: { link: new URL(`/account/reset/${token}`, config.issuer).href, minutes: resetMinutes },
        });
        deps.audit('account.reset_requested', { sub: accountId, reason: 'sent', ip: ctx.ip });
      })().catch((err: unknown) => deps.log.error({ err: { message: (err as Error).message } }, 'reset mail failed'));
    });
  }

  function registerPage(ctx: Context, values: { username?: string; email?: string; errorKey?: string } = {}): void {
    const m = views.messages(language(ctx));
    page(ctx, 'account-register', 'account.register.title', {
      username: values.username ?? '',
      email: values.email ?? '',
      minLength: String(deps.policy.minLength),
      errorBlock: values.errorKey
        ? `<p class="alert" id="register-error" role="alert">${m.html(values.errorKey)}</p>`
        : '',
    });
  }

  /**
   * Self-service sign-up. A username that is taken is said so (a sign-up cannot hide that); an email address that
   * belongs to an account is not: the answer is the same page, no account is made, and the address's owner gets
   * a mail saying so. Both paths do one argon2 computation before the answer.
   */
  async function register(ctx: Context): Promise<void> {
    assertSameOrigin(ctx, issuerOrigin);
    const form = await readForm(ctx, config.bodyLimitBytes);
    if ((await deps.store.throttle.hit(`register-ip:${ctx.ip}`, RESET_WINDOW_SECONDS)) > RESET_PER_IP) {
      deps.audit('rate_limit.exceeded', { kind: 'register', ip: ctx.ip });
      throw new HttpError(429, 'invalid_request', 'too many sign-ups, try again later', {
        'Retry-After': String(RESET_WINDOW_SECONDS),
      });
    }
    const username = (form.get('username') ?? '').trim();
    const email = (form.get('email') ?? '').trim();
    const password = form.get('password') ?? '';
    if (password.length > MAX_PASSWORD_LENGTH)
      throw new HttpError(400, 'invalid_request', `password must be at most ${MAX_PASSWORD_LENGTH} characters`);
    const again = (errorKey: string) => {
      ctx.status = 400;
      registerPage(ctx, { username: username.slice(0, 64), email: email.slice(0, 254), errorKey });
    };
    if (!EMAIL.test(email)) return again('account.email.invalid');
    const lang = language(ctx);
    const owner = await findByEmail(deps.store, email);
    let created: Account | undefined;
    if (owner) {
      // The checks `create` makes, in its order, so a taken address answers like a free one.
      if (!USERNAME_PATTERN.test(username)) return again('account.register.usernameInvalid');
      try {
        deps.policy.check(password, username);
      } catch (err) {
        if (err instanceof PasswordRejected) return again('account.password.rejected');
        throw err;
      }
      await accounts.verify(undefined, password);
      if (await accounts.lookup(username)) return again('account.register.usernameTaken');
    } else {
      try {
        created = await accounts.create({ username, password, email });
      } catch (err) {
        if (!(err instanceof AccountError)) throw err;
        return again(
          err.code === 'USERNAME_TAKEN'
            ? 'account.register.usernameTaken'
            : err.code === 'INVALID_PASSWORD'
              ? 'account.password.rejected'
              : 'account.register.usernameInvalid',
        );
      }
    }
    const m = views.messages(lang);
    page(ctx, 'account-notice', 'account.register.doneTitle', {
      heading: m.html('account.register.doneTitle'),
      message: m.html('account.register.done'),
    });
    const failed = (err: unknown) =>
      deps.log.error({ err: { message: (err as Error).message } }, 'account mail failed');
    if (created) {
      deps.audit('account.registered', { sub: created.id, ip: ctx.ip });
      const account = created;
      ctx.res.once('finish', () => void sendVerification(verification, account, lang).catch(failed));
    } else if (owner?.email) {
      deps.audit('account.registered', { sub: owner.id, reason: 'email_taken', ip: ctx.ip });
      const to = owner.email;
      ctx.res.once(
        'finish',
        () => void deps.mailer.send({ to, name: 'signup-exists', language: lang, values: {} }).catch(failed),
      );
    }
  }

  function resetPage(ctx: Context, token: string, errorKey?: string): void {
    const m = views.messages(language(ctx));
    page(ctx, 'account-reset', 'account.reset.title', {
      action: `/account/reset/${token}`,
      minLength: String(deps.policy.minLength),
      errorBlock: errorKey ? `<p class="alert" id="reset-error" role="alert">${m.html(errorKey)}</p>` : '',
    });
  }

  function linkRefused(ctx: Context, reason: 'reset' | 'verify' = 'reset'): never {
    deps.audit('account.link_refused', { reason, ip: ctx.ip });
    throw new HttpError(
      400,
      'invalid_request',
      'this link is not valid any more',
      {},
      { kind: 'expired', language: language(ctx) },
    );
  }

  async function reset(ctx: Context, token: string): Promise<void> {
    assertSameOrigin(ctx, issuerOrigin);
    const form = await readForm(ctx, config.bodyLimitBytes);
    const password = form.get('password') ?? '';
    if (password.length > MAX_PASSWORD_LENGTH)
      throw new HttpError(400, 'invalid_request', `password must be at most ${MAX_PASSWORD_LENGTH} characters`);
    // The policy is checked before the link is spent, so a refused password leaves the link usable.
    try {
      deps.policy.check(password);
    } catch (err) {
      if (!(err instanceof PasswordRejected)) throw err;
      ctx.status = 400;
      return resetPage(ctx, token, 'account.password.rejected');
    }
    const hash = hashToken(token);
    const record = await deps.store.oneTimeTokens.consume(hash);
    if (record?.purpose !== 'reset') return linkRefused(ctx);
    const account = await accounts.findById(record.accountId);
    if (!account || account.disabled) return linkRefused(ctx);
    try {
      await accounts.setPassword(account.username, password);
    } catch (err) {
      if (!(err instanceof AccountError && err.code === 'INVALID_PASSWORD')) throw err;
      // Refused for this account only (the username itself): the link stays usable for what was left of it.
      const left = Math.floor((Number(record.data?.expiresAt ?? 0) - Date.now()) / 1000);
      if (left > 0) await deps.store.oneTimeTokens.put(hash, record, left);
      ctx.status = 400;
      return resetPage(ctx, token, 'account.password.rejected');
    }
    const all = Object.keys(await deps.store.sessionIndex.list(account.id));
    await endSessions(sessions, account.id, all, 'password_reset');
    deps.audit('account.password_reset', { sub: account.id, ip: ctx.ip });
    page(ctx, 'account-notice', 'account.reset.doneTitle', {
      heading: views.messages(language(ctx)).html('account.reset.doneTitle'),
      message: views.messages(language(ctx)).html('account.reset.done'),
    });
  }

  const handle: Middleware = async (ctx) => {
    const path = ctx.path;
    const method = ctx.method;
    const only = (allowed: string) => {
      if (method !== allowed) {
        ctx.set('Allow', allowed);
        throw new HttpError(405, 'invalid_request', 'method not allowed');
      }
    };
    if (path === '/account') {
      only('GET');
      return showAccount(ctx);
    }
    if (path === '/account/callback') {
      only('GET');
      ctx.status = 303;
      return ctx.redirect(ctx.query.state === 'security' ? RETURN_PAGES.security : RETURN_PAGES.account);
    }
    if (path === '/account/sessions/end') {
      only('POST');
      return endSessionsRoute(ctx);
    }
    if (path === '/account/apps/remove') {
      only('POST');
      return removeAccessRoute(ctx);
    }
    if (path === '/account/email') {
      only('POST');
      return changeEmail(ctx);
    }
    if (path === '/account/email/resend') {
      only('POST');
      return resendVerification(ctx);
    }
    const verifyToken = /^\/account\/verify\/([^/]+)$/.exec(path)?.[1];
    if (verifyToken) {
      if (!TOKEN_PATTERN.test(verifyToken)) return linkRefused(ctx, 'verify');
      if (method === 'GET') return verifyPage(ctx, verifyToken);
      only('POST');
      return verify(ctx, verifyToken);
    }
    if (path === '/account/password') {
      only('POST');
      return changePassword(ctx);
    }
    if (path === '/account/register' && config.account.registrationEnabled) {
      if (method === 'GET') return registerPage(ctx);
      only('POST');
      return register(ctx);
    }
    if (path === '/account/forgot' && config.account.passwordResetEnabled) {
      if (method === 'GET') return forgotPage(ctx, false);
      only('POST');
      return requestReset(ctx);
    }
    const resetToken = /^\/account\/reset\/([^/]+)$/.exec(path)?.[1];
    if (resetToken && config.account.passwordResetEnabled) {
      if (!TOKEN_PATTERN.test(resetToken)) return linkRefused(ctx);
      if (method === 'GET') return resetPage(ctx, resetToken);
      only('POST');
      return reset(ctx, resetToken);
    }
    throw new HttpError(404, 'invalid_request', 'not found', {}, { kind: 'notFound', language: language(ctx) });
  };
  return (ctx, next) => (ctx.path === '/account' || ctx.path.startsWith('/account/') ? handle(ctx, next) : next());
}
