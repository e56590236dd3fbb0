/**
 * `/account/security`: the signed-in user's second factors: passkeys (add, name, remove), the authenticator app
 * (set up with a first code, turn off) and recovery codes (make new ones).
 *
 * Rules:
 * - Only with a Gatehouse session (the session cookie oidc-provider set at sign-in); without one the page starts a
 *   sign-in for Gatehouse's own client and comes back here (as /account does), and every POST is refused (401).
 * - Every POST is same-origin (Sec-Fetch-Site/Origin, as on the sign-in pages) and carries a form token bound to
 *   the session (HMAC of the session id), so a cross-site form cannot change anyone's factors.
 * - Wrong first codes count towards the same sign-in throttle as passwords.
 * - New recovery codes are shown once, on the answer to the request that made them.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import type Provider from 'oidc-provider';
import type { Audit } from '../audit/audit.ts';
import type { Config } from '../config/types.ts';
import { assertSameOrigin, readForm } from '../web/body.ts';
import { HttpError } from '../web/errors.ts';
import { cspNonce } from '../web/security-headers.ts';
import { escapeHtml, type Views } from '../web/views.ts';
import type { LoginGuard } from '../accounts/login-guard.ts';
import { factorsOf, MfaError, type MfaService } from '../accounts/mfa/service.ts';
import type { Account } from '../storage/types.ts';
import type { CookieKeys } from '../provider/keys.ts';
import { accountSignInUrl } from './routes.ts';

interface AccountSecurityDeps {
  config: Config;
  provider: Provider;
  views: Views;
  guard: LoginGuard;
  audit: Audit;
  mfa: MfaService;
  cookieKeys: Readonly<CookieKeys>;
}

const BASE = '/account/security';
const ACTIONS = new Set([
  'passkeys/add',
  'passkeys/rename',
  'passkeys/remove',
  'totp/start',
  'totp/confirm',
  'totp/disable',
  'recovery',
]);

export function accountSecurityRoutes(deps: AccountSecurityDeps): Middleware {
  const { config, provider, views, mfa } = deps;
  const issuerOrigin = new URL(config.issuer).origin;
  const sessionCookie = new URL(config.issuer).protocol === 'https:' ? '__Host-session' : '_session';
  const csrfKey = createHmac('sha256', deps.cookieKeys[0]).update('gatehouse account security form').digest();
  const formToken = (sessionId: string) => createHmac('sha256', csrfKey).update(sessionId).digest('base64url');

  async function signedIn(ctx: Context): Promise<{ sessionId: string; account: Account } | undefined> {
    const id = ctx.cookies.get(sessionCookie, { signed: true });
    if (!id || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) return undefined;
    const session = await provider.Session.find(id);
    const accountId = session?.accountId;
    if (!accountId) return undefined;
    const account = await deps.mfa.account(accountId);
    return account && !account.disabled ? { sessionId: id, account } : undefined;
  }

  function language(ctx: Context) {
    return views.language({ acceptLanguage: ctx.get('accept-language') });
  }

  function send(ctx: Context, body: string, title = 'security.title'): void {
    const lang = language(ctx);
    const m = views.messages(lang);
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = views.render(
      'account-security',
      { language: lang, nonce: cspNonce(ctx.res), title: m.html(title) },
      { body },
    );
  }

  function date(ms: number | undefined, lang: string): string {
    return ms === undefined
      ? ''
      : new Date(ms).toLocaleDateString(lang === 'de' ? 'de-DE' : 'en-GB', {
          year: 'numeric',
          month: 'short',
          day: 'numeric',
        });
  }

  async function overview(ctx: Context, who: { sessionId: string; account: Account }, notice: string): Promise<void> {
    const lang = language(ctx);
    const m = views.messages(lang);
    const token = escapeHtml(formToken(who.sessionId));
    const hidden = `<input type="hidden" name="csrf" value="${token}">`;
    const a = who.account;
    const f = factorsOf(a);
    const passkeys = (a.mfa?.passkeys ?? [])
      .map((p) => {
        const id = escapeHtml(p.id);
        const used = p.lastUsedAt
          ? m.html('security.lastUsed', { date: date(p.lastUsedAt, lang) })
          : m.html('security.neverUsed');
        return `<li data-passkey-id="${id}"><strong>${escapeHtml(p.name)}</strong> <small>${m.html('security.created', { date: date(p.createdAt, lang) })}, ${used}</small>
<form method="post" action="${BASE}/passkeys/rename">${hidden}<input type="hidden" name="id" value="${id}"><label for="name-${id}">${m.html('security.passkeyName')}</label><input id="name-${id}" name="name" maxlength="64" value="${escapeHtml(p.name)}"><button type="submit">${m.html('security.rename')}</button></form>
<form method="post" action="${BASE}/passkeys/remove">${hidden}<input type="hidden" name="id" value="${id}"><button type="submit" class="link">${m.html('security.remove')}</button></form></li>`;
      })
      .join('\n');
    const options = escapeHtml(JSON.stringify(await mfa.registrationOptions(a.id, who.sessionId)));
    const body = [
      `<p class="lead">${m.html('security.signedInAs', { username: a.username })}</p>`,
      notice,
      `<h2>${m.html('security.passkeys')}</h2>`,
      f.passkeys > 0 ? `<ul class="factor-list">${passkeys}</ul>` : `<p>${m.html('security.noPasskeys')}</p>`,
      `<form method="post" action="${BASE}/passkeys/add" data-passkey="register">${hidden}<input type="hidden" data-options value="${options}" disabled><input type="hidden" name="credential" value="">
<label for="new-passkey-name">${m.html('security.passkeyName')}</label><input id="new-passkey-name" name="name" maxlength="64">
<button type="submit" class="primary" data-needs-passkeys hidden>${m.html('security.addPasskey')}</button>
<p class="alert" data-passkey-status role="alert" hidden>${m.html('security.failed')}</p></form>`,
      `<h2>${m.html('security.totp')}</h2>`,
      f.totp
        ? `<p>${m.html('security.totpOn')}</p><form method="post" action="${BASE}/totp/disable">${hidden}<button type="submit">${m.html('security.totpDisable')}</button></form>`
        : `<p>${m.html('security.totpOff')}</p><form method="post" action="${BASE}/totp/start">${hidden}<button type="submit" class="primary">${m.html('security.totpEnable')}</button></form>`,
      ...(f.any
        ? [
            `<h2>${m.html('security.recovery')}</h2>`,
            `<p>${m.html('security.recoveryLeft', { count: f.recoveryCodes })}</p>`,
            `<form method="post" action="${BASE}/recovery">${hidden}<button type="submit">${m.html('security.recoveryRegenerate')}</button></form>`,
          ]
        : []),
    ].join('\n');
    send(ctx, `${body}\n<p class="secondary"><a href="/account">${m.html('security.backToAccount')}</a></p>`);
  }

  function codesBlock(ctx: Context, codes: string[]): string {
    const m = views.messages(language(ctx));
    if (codes.length === 0) return `<p class="notice" role="status">${m.html('security.saved')}</p>`;
    return `<section class="notice" role="status"><h2>${m.html('recovery.title')}</h2><p>${m.html('recovery.lead')}</p><ul class="codes" data-recovery-codes>${codes
      .map((c) => `<li>${escapeHtml(c)}</li>`)
      .join('')}</ul></section>`;
  }

  async function totpSetup(
    ctx: Context,
    who: { sessionId: string; account: Account },
    failed: boolean,
    setup: { secret: string; qrSvg: string },
  ): Promise<void> {
    const lang = language(ctx);
    const m = views.messages(lang);
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = views
      .render(
        'totp-setup',
        { language: lang, nonce: cspNonce(ctx.res), title: m.html('totp.setupTitle') },
        {
          action: `${BASE}/totp/confirm`,
          qr: setup.qrSvg,
          secret: setup.secret,
          errorBlock: failed ? `<p class="alert" role="alert">${m.html('mfa.failed')}</p>` : '',
          footer: `<input form="totp-confirm" type="hidden" name="csrf" value="${escapeHtml(formToken(who.sessionId))}"><p class="secondary"><a href="${BASE}">${m.html('login.cancel')}</a></p>`,
        },
      )
      .replace(
        `<form method="post" action="${BASE}/totp/confirm"`,
        `<form id="totp-confirm" method="post" action="${BASE}/totp/confirm"`,
      );
  }

  async function post(ctx: Context, action: string): Promise<void> {
    assertSameOrigin(ctx, issuerOrigin);
    const who = await signedIn(ctx);
    if (!who) throw new HttpError(401, 'login_required', 'sign in first');
    const form = await readForm(ctx, config.bodyLimitBytes);
    const token = Buffer.from(form.get('csrf') ?? '');
    const expected = Buffer.from(formToken(who.sessionId));
    if (token.length !== expected.length || !timingSafeEqual(token, expected))
      throw new HttpError(403, 'invalid_request', 'the form expired, reload the page');
    const sub = who.account.id;
    const reload = async (notice: string) =>
      overview(ctx, { ...who, account: (await mfa.account(sub)) ?? who.account }, notice);
    try {
      switch (action) {
        case 'passkeys/add': {
          let response: unknown;
          try {
            response = JSON.parse(form.get('credential') ?? '');
          } catch {
            throw new HttpError(400, 'invalid_request', 'credential must be the passkey answer as JSON');
          }
          await mfa.registerPasskey(sub, who.sessionId, response, form.get('name') ?? '');
          deps.audit('mfa.enrolled', { sub, factor: 'passkey' });
          return reload(codesBlock(ctx, []));
        }
        case 'passkeys/rename':
          await mfa.renamePasskey(sub, form.get('id') ?? '', form.get('name') ?? '');
          return reload(codesBlock(ctx, []));
        case 'passkeys/remove':
          if (!(await mfa.removePasskey(sub, form.get('id') ?? '')))
            throw new HttpError(404, 'invalid_request', 'no such passkey');
          deps.audit('mfa.removed', { sub, factor: 'passkey' });
          return reload(codesBlock(ctx, []));
        case 'totp/start':
          return totpSetup(ctx, who, false, await mfa.startTotp(sub));
        case 'totp/confirm': {
          const verdict = await deps.guard.check(who.account.username, ctx.ip);
          let codes: string[] | undefined;
          if (verdict.allowed) {
            try {
              codes = await mfa.confirmTotp(sub, (form.get('code') ?? '').slice(0, 16));
            } catch (err) {
              if (!(err instanceof MfaError) || err.code !== 'BAD_CODE') throw err;
            }
          }
          if (!codes) {
            if (verdict.allowed) await deps.guard.failed(who.account.username, ctx.ip);
            deps.audit('mfa.failure', { sub, factor: 'totp_setup', ip: ctx.ip });
            const setup = await mfa.pendingTotp(sub);
            if (!setup) throw new HttpError(400, 'invalid_request', 'no authenticator app is being set up');
            ctx.status = 400;
            return totpSetup(ctx, who, true, setup);
          }
          deps.audit('mfa.enrolled', { sub, factor: 'totp' });
          return reload(codesBlock(ctx, codes));
        }
        case 'totp/disable':
          if (await mfa.disableTotp(sub)) deps.audit('mfa.removed', { sub, factor: 'totp' });
          return reload(codesBlock(ctx, []));
        default: {
          const codes = await mfa.regenerateRecoveryCodes(sub);
          deps.audit('mfa.enrolled', { sub, factor: 'recovery_codes' });
          return reload(codesBlock(ctx, codes));
        }
      }
    } catch (err) {
      if (err instanceof MfaError) {
        deps.audit('mfa.failure', { sub, factor: action, reason: err.code });
        throw new HttpError(400, 'invalid_request', err.message);
      }
      throw err;
    }
  }

  const handle: Middleware = async (ctx, next) => {
    const action = ctx.path.slice(BASE.length + 1);
    if (ctx.path === BASE) {
      if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
        ctx.set('Allow', 'GET');
        throw new HttpError(405, 'invalid_request', 'method not allowed');
      }
      const who = await signedIn(ctx);
      if (!who) {
        ctx.status = 303;
        return ctx.redirect(accountSignInUrl(config, BASE));
      }
      return overview(ctx, who, '');
    }
    if (!ACTIONS.has(action)) return next();
    if (ctx.method !== 'POST') {
      ctx.set('Allow', 'POST');
      throw new HttpError(405, 'invalid_request', 'method not allowed');
    }
    return post(ctx, action);
  };
  return (ctx, next) => (ctx.path === BASE || ctx.path.startsWith(`${BASE}/`) ? handle(ctx, next) : next());
}
