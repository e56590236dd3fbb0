/**
 * The second step of a sign-in, and the passkey sign-in that replaces the password. Mounted by ./routes.ts.
 *
 * Rules:
 * - After a correct password, a sign-in that needs a second factor (src/accounts/mfa/policy.ts) is not finished: the
 *   interaction records who passed the password and the page asks for a passkey, an authenticator code or a
 *   recovery code. An account with no factor of its own sets up an authenticator app there and then.
 * - A session signed in with a password only, asked for a second factor by a request (step-up), gets this step
 *   without typing the password again.
 * - Wrong codes are throttled like passwords (the same per-username and per-IP counters) and answer one message
 *   whatever was wrong; nothing here tells more about the password than reaching this step already did.
 * - `acr` is urn:gatehouse:acr:mfa after a second factor, `amr` lists what was used (RFC 8176): pwd, otp,
 *   hwk or swk with user (a passkey with user verification), mfa.
 */
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { InteractionResults } from 'oidc-provider';
import type { Audit } from '../audit/audit.ts';
import type { Config } from '../config/types.ts';
import { readForm } from '../web/body.ts';
import { HttpError } from '../web/errors.ts';
import type { Language } from '../config/languages.ts';
import { cspNonce } from '../web/security-headers.ts';
import { escapeHtml, type Views } from '../web/views.ts';
import { needsSecondFactor } from '../accounts/mfa/policy.ts';
import { factorsOf, MfaError, type MfaService } from '../accounts/mfa/service.ts';
import { ACR_MFA } from '../accounts/mfa/acr.ts';
import type { Account } from '../storage/types.ts';
import { firstPartyGrant } from './first-party-consent.ts';
import type { LoginGuard } from '../accounts/login-guard.ts';
import { clientMetadata } from '../provider/client-metadata.ts';

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;
type Client = Awaited<ReturnType<Provider['Client']['find']>>;

/** Who passed the password in this interaction, kept in the interaction record until the second factor. */
interface Pending {
  accountId: string;
  amr: string[];
}
const PENDING = 'gatehouse_second_factor';

interface SecondFactorDeps {
  config: Config;
  provider: Provider;
  views: Views;
  mfa: MfaService;
  guard: LoginGuard;
  audit: Audit;
  language(ctx: Context, d: Details): Language;
  finish(ctx: Context, d: Details, result: InteractionResults, merge: boolean): Promise<void>;
  findAccount(id: string): Promise<Account | undefined>;
}

export function secondFactor(deps: SecondFactorDeps) {
  const { provider, views, mfa, config } = deps;

  function pending(d: Details): Pending | undefined {
    const p = (d.result as Record<string, unknown> | undefined)?.[PENDING] as Pending | undefined;
    return p && typeof p.accountId === 'string' ? p : undefined;
  }

  async function remember(d: Details, p: Pending): Promise<void> {
    d.result = { [PENDING]: p } as InteractionResults;
    await d.save(d.exp - Math.floor(Date.now() / 1000));
  }

  function needs(d: Details, client: Client, account: Account): boolean {
    return needsSecondFactor(
      {
        required: config.mfa.required,
        clientRequires: clientMetadata(client).require_mfa === true,
        params: d.params,
      },
      account,
    );
  }

  /** The sign-in is complete: the login result, and a first-party client's grant with it. */
  async function complete(
    ctx: Context,
    d: Details,
    client: Client,
    accountId: string,
    acr: string,
    amr: string[],
    codes?: string[],
  ): Promise<void> {
    const clientId = String(d.params.client_id);
    const grantId = await firstPartyGrant(provider, config, d, client, accountId);
    if (grantId) deps.audit('consent.granted', { clientId, sub: accountId, reason: 'first_party' });
    const login = { accountId, acr, amr: [...new Set(amr)], remember: true };
    const result = grantId ? { login, consent: { grantId } } : { login };
    if (!codes || codes.length === 0) return deps.finish(ctx, d, result, false);
    // Recovery codes made during this sign-in are shown once, before going on.
    d.result = result;
    await d.save(d.exp - Math.floor(Date.now() / 1000));
    const lang = deps.language(ctx, d);
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = recoveryPage(lang, d.returnTo, codes, ctx);
    return undefined;
  }

  function recoveryPage(lang: Language, next: string, codes: string[], ctx: Context): string {
    const m = views.messages(lang);
    return views.render(
      'recovery-codes',
      { language: lang, nonce: cspNonce(ctx.res), title: m.html('recovery.title') },
      {
        codes: codes.map((c) => `<li>${escapeHtml(c)}</li>`).join(''),
        next,
      },
    );
  }

  /** Called by the password step once the password was right. Returns false when no second factor is needed. */
  async function afterPassword(ctx: Context, d: Details, client: Client, account: Account): Promise<boolean> {
    if (!needs(d, client, account)) return false;
    await remember(d, { accountId: account.id, amr: ['pwd'] });
    ctx.status = 303;
    ctx.redirect(`/interaction/${d.uid}`);
    return true;
  }

  /** The page of this step, or false when this interaction is not at it. */
  async function show(ctx: Context, d: Details): Promise<boolean> {
    let p = pending(d);
    const reasons = d.prompt.reasons as string[];
    if (!p && d.session?.accountId && reasons.length === 1 && reasons[0] === 'mfa_required') {
      // Step-up: the session's password sign-in stands, only the second factor is missing.
      p = { accountId: d.session.accountId, amr: (d.session as { amr?: string[] }).amr ?? ['pwd'] };
      await remember(d, p);
    }
    if (!p) return false;
    const account = await deps.findAccount(p.accountId);
    if (!account || account.disabled)
      throw new HttpError(400, 'invalid_request', 'the sign-in expired, start it again');
    await render(ctx, d, account, false);
    return true;
  }

  async function render(ctx: Context, d: Details, account: Account, failed: boolean): Promise<void> {
    const lang = deps.language(ctx, d);
    const m = views.messages(lang);
    const f = factorsOf(account);
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    const errorBlock = failed ? `<p class="alert" id="mfa-error" role="alert">${m.html('mfa.failed')}</p>` : '';
    const page = { language: lang, nonce: cspNonce(ctx.res), title: m.html(f.any ? 'mfa.title' : 'totp.setupTitle') };
    if (!f.any) {
      const setup = (await mfa.pendingTotp(account.id)) ?? (await mfa.startTotp(account.id));
      ctx.body = views.render('totp-setup', page, {
        action: `/interaction/${d.uid}/mfa`,
        qr: setup.qrSvg,
        secret: setup.secret,
        errorBlock,
        footer: `<form method="post" action="/interaction/${escapeHtml(d.uid)}/abort" class="secondary"><button type="submit" class="link">${m.html('login.cancel')}</button></form>`,
      });
      return;
    }
    const passkeyBlock =
      f.passkeys > 0
        ? `<form method="post" action="/interaction/${escapeHtml(d.uid)}/passkey" data-passkey="authenticate">
  <input type="hidden" data-options value="${escapeHtml(JSON.stringify(await mfa.authenticationOptions(d.uid, d.exp * 1000)))}" disabled>
  <input type="hidden" name="credential" value="">
  <button type="submit" class="primary" data-needs-passkeys hidden>${m.html('mfa.usePasskey')}</button>
  <p class="alert" data-passkey-status role="alert" hidden>${m.html('passkey.failed')}</p>
</form>`
        : '';
    const totpBlock = f.totp
      ? `<form method="post" action="/interaction/${escapeHtml(d.uid)}/mfa" autocomplete="off">
  <label for="code">${m.html('mfa.totpCode')}</label>
  <input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]*" maxlength="8" autofocus${failed ? ' aria-invalid="true" aria-describedby="mfa-error"' : ''}>
  <button type="submit" class="primary">${m.html('mfa.verify')}</button>
</form>`
      : '';
    ctx.body = views.render('second-factor', page, {
      action: `/interaction/${d.uid}/mfa`,
      abortAction: `/interaction/${d.uid}/abort`,
      errorBlock,
      passkeyBlock,
      totpBlock,
    });
  }

  /** POST /interaction/:uid/mfa: an authenticator code, a recovery code, or the first code of a new app. */
  async function verify(ctx: Context, d: Details): Promise<void> {
    const p = pending(d);
    if (!p) throw new HttpError(400, 'invalid_request', 'no second factor is expected in this sign-in');
    const form = await readForm(ctx, config.bodyLimitBytes);
    const code = (form.get('code') ?? '').slice(0, 16);
    const recovery = (form.get('recovery_code') ?? '').slice(0, 32);
    const account = await deps.findAccount(p.accountId);
    if (!account || account.disabled)
      throw new HttpError(400, 'invalid_request', 'the sign-in expired, start it again');
    const clientId = String(d.params.client_id);
    const ip = ctx.ip;
    const client = await provider.Client.find(clientId);
    const verdict = await deps.guard.check(account.username, ip);
    const fail = async (factor: string) => {
      if (verdict.allowed) await deps.guard.failed(account.username, ip);
      deps.audit('mfa.failure', {
        clientId,
        sub: account.id,
        factor,
        ip,
        ...(verdict.allowed ? {} : { reason: verdict.reason }),
      });
      ctx.status = 401;
      await render(ctx, d, account, true);
    };
    const f = factorsOf(account);
    if (!f.any) {
      // Setting up the authenticator app inside the sign-in.
      if (!verdict.allowed) return fail('totp_setup');
      let codes: string[];
      try {
        codes = await mfa.confirmTotp(account.id, code);
      } catch (err) {
        if (err instanceof MfaError) return fail('totp_setup');
        throw err;
      }
      deps.audit('mfa.enrolled', { clientId, sub: account.id, factor: 'totp' });
      await deps.guard.succeeded(account.username, ip);
      return complete(ctx, d, client, account.id, ACR_MFA, [...p.amr, 'otp', 'mfa'], codes);
    }
    const factor = recovery ? 'recovery_code' : 'totp';
    const ok =
      verdict.allowed &&
      (recovery ? await mfa.useRecoveryCode(account, recovery) : await mfa.verifyTotp(account, code));
    if (!ok) return fail(factor);
    deps.audit('mfa.success', { clientId, sub: account.id, factor, ip });
    await deps.guard.succeeded(account.username, ip);
    return complete(ctx, d, client, account.id, ACR_MFA, [...p.amr, 'otp', 'mfa']);
  }

  /** POST /interaction/:uid/passkey: a passkey instead of the password, or as the second factor. */
  async function passkey(ctx: Context, d: Details): Promise<void> {
    const form = await readForm(ctx, config.bodyLimitBytes);
    const clientId = String(d.params.client_id);
    let response: unknown;
    try {
      response = JSON.parse(form.get('credential') ?? '');
    } catch {
      throw new HttpError(400, 'invalid_request', 'credential must be the passkey answer as JSON');
    }
    const p = pending(d);
    const result = await mfa.authenticatePasskey(d.uid, response);
    // As a second factor, the passkey must be one of the account that passed the password.
    if (!result || (p && result.account.id !== p.accountId)) {
      deps.audit('mfa.failure', { clientId, sub: p?.accountId, factor: 'passkey', ip: ctx.ip });
      throw new HttpError(400, 'invalid_request', 'the passkey was not accepted');
    }
    deps.audit('mfa.success', { clientId, sub: result.account.id, factor: 'passkey', ip: ctx.ip });
    const client = await provider.Client.find(clientId);
    const key = result.passkey.backedUp ? 'swk' : 'hwk';
    return complete(ctx, d, client, result.account.id, ACR_MFA, [...(p?.amr ?? []), key, 'user', 'mfa']);
  }

  /** Options for the passkey form of the sign-in page. */
  async function passkeyOptions(d: Details): Promise<string> {
    return JSON.stringify(await mfa.authenticationOptions(d.uid, d.exp * 1000));
  }

  return { afterPassword, show, verify, passkey, passkeyOptions };
}
