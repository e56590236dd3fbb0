/**
 * The device authorization grant (RFC 8628): a TV or a command-line tool shows a short code, the user enters it at
 * `/device` in a browser, signs in and consents as in the code flow, and the device polls the token endpoint.
 *
 * Rules:
 * - Only clients that register the `urn:ietf:params:oauth:grant-type:device_code` grant type may start it.
 * - User codes are 8 letters from a 20-letter alphabet without vowels (BCDFGHJKLMNPQRSTVWXZ: no 0/O, 1/I/L
 *   confusion, no words), shown as XXXX-XXXX; entry ignores case, spaces and dashes. 20^8 codes against the
 *   per-IP limit on `POST /device` (src/http/rate-limit.ts) make guessing a live code hopeless (RFC 8628 5.1).
 * - The pages are Gatehouse pages (templates, catalogues, CSP nonce); the form posts carry oidc-provider's
 *   session-bound xsrf token, and the confirmation page shows which client asks, so a code phished from someone
 *   else's device is seen for what it is (RFC 8628 5.4).
 * - An expired device code is kept EXPIRED_KEPT_SECONDS past its expiry, so the device is told `expired_token`
 *   and the page says the code expired (RFC 8628 3.5), rather than both finding nothing.
 * - Polling: the device authorization response carries `interval`; a poll of one device code sooner than that
 *   after the previous one is answered `slow_down` (RFC 8628 3.5), counted in the store so every instance agrees.
 */
import { createHash } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Adapter, KoaContextWithOIDC } from 'oidc-provider';
import type { Config } from '../config/types.ts';
import { tokenForm } from '../web/token-form.ts';
import type { Views } from '../web/views.ts';
import type { ThrottleStore } from '../storage/types.ts';
import { forwardingAdapter } from './forwarding-adapter.ts';
import { sendPage } from './pages.ts';

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** How long an expired device code stays in the store, to be answered as expired. */
const EXPIRED_KEPT_SECONDS = 300;

/** The DeviceCode adapter: its records outlive their expiry by EXPIRED_KEPT_SECONDS (oidc-provider checks `exp`). */
export function deviceCodeAdapter(adapter: Adapter): Adapter {
  return forwardingAdapter(adapter, {
    upsert: (id, payload, expiresIn) => adapter.upsert(id, payload, (expiresIn ?? 0) + EXPIRED_KEPT_SECONDS),
  });
}

interface RenderedError {
  name?: string;
  userCode?: string;
}

/** Which message explains a re-rendered code entry page (oidc-provider's ReRenderError names). */
function problemKey(err: RenderedError | undefined): string | undefined {
  if (!err) return undefined;
  switch (err.name) {
    case 'NoCodeError':
      return 'device.missing';
    case 'NotFoundError':
      return 'device.notFound';
    case 'ExpiredError':
      return 'device.expired';
    case 'AlreadyUsedError':
      return 'device.used';
    case 'AbortedError':
      return 'device.aborted';
    default:
      return 'device.failed';
  }
}

/** The xsrf token oidc-provider put in the form it built (its forms are replaced by the templates). */
function xsrfOf(form: string): string {
  return /name="xsrf" value="([^"]*)"/.exec(form)?.[1] ?? '';
}

function languageOf(ctx: KoaContextWithOIDC, views: Views) {
  return views.language({ acceptLanguage: ctx.get('accept-language') });
}

export function deviceFlowFeature(views: Views) {
  return {
    enabled: true,
    charset: 'base-20' as const,
    mask: '****-****',
    // Kept with the device code; not shown: the confirmation page names the client, which is what the user can judge.
    deviceInfo: () => ({}),
    async userCodeInputSource(ctx: KoaContextWithOIDC, form: string, _out?: unknown, err?: RenderedError) {
      const problem = problemKey(err);
      // A wrong or missing code makes the field invalid; an ended attempt (aborted, expired) is only explained.
      const invalid = err?.name === 'NotFoundError' || err?.name === 'NoCodeError';
      sendPage(ctx, views, languageOf(ctx, views), 'device', 'device.title', (m) => ({
        action: ctx.oidc.urlFor('code_verification'),
        xsrf: xsrfOf(form),
        code: invalid ? (err?.userCode ?? '') : '',
        codeAttrs: invalid ? ' aria-invalid="true" aria-describedby="device-error" autofocus' : ' autofocus',
        errorBlock: problem ? `<p class="alert" id="device-error" role="alert">${m.html(problem)}</p>` : '',
      }));
    },
    async userCodeConfirmSource(
      ctx: KoaContextWithOIDC,
      form: string,
      client: { clientId: string; clientName?: string },
      _info: unknown,
      userCode: string,
    ) {
      sendPage(ctx, views, languageOf(ctx, views), 'device-confirm', 'deviceConfirm.title', (m) => ({
        action: ctx.oidc.urlFor('code_verification'),
        xsrf: xsrfOf(form),
        code: userCode,
        question: m.html('deviceConfirm.question', { client: client.clientName ?? client.clientId }),
      }));
    },
    async successSource(ctx: KoaContextWithOIDC) {
      const client = ctx.oidc.client;
      sendPage(ctx, views, languageOf(ctx, views), 'logged-out', 'deviceDone.title', (m) => ({
        heading: m.html('deviceDone.title'),
        message: m.html('deviceDone.message', { client: client?.clientName ?? client?.clientId ?? '' }),
        close: m.html('deviceDone.close'),
      }));
    },
  };
}

/**
 * The device authorization response carries the polling `interval` (oidc-provider leaves RFC 8628's default
 * implicit), and an authenticated client without the grant type is refused `unauthorized_client` (RFC 6749 5.2,
 * which RFC 8628 3.2 refers to) rather than oidc-provider's `invalid_request`.
 */
export function deviceAuthorizationAnswers(config: Pick<Config, 'deviceFlow'>) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<unknown>): Promise<void> => {
    await next();
    if (ctx.oidc?.route !== 'device_authorization' || !ctx.body || typeof ctx.body !== 'object') return;
    const body = ctx.body as Record<string, unknown>;
    if (ctx.status === 200) body.interval = config.deviceFlow.pollIntervalSeconds;
    else if (
      ctx.status === 400 &&
      body.error === 'invalid_request' &&
      ctx.oidc.client &&
      !ctx.oidc.client.grantTypeAllowed(DEVICE_CODE_GRANT)
    ) {
      body.error = 'unauthorized_client';
    }
  };
}

/**
 * Host-app middleware before the provider: a device-code poll within `interval` of the previous poll of the same
 * code is answered 400 `slow_down` without reaching the provider. The store keeps only a hash of the code.
 */
export function devicePollingPace(
  store: ThrottleStore,
  config: Pick<Config, 'deviceFlow' | 'bodyLimitBytes'>,
): Middleware {
  const handle: Middleware = async (ctx, next) => {
    const form = await tokenForm(ctx, config.bodyLimitBytes);
    const deviceCode = form?.get('grant_type') === DEVICE_CODE_GRANT ? form.get('device_code') : null;
    if (!deviceCode) return next();
    const key = `device:poll:${createHash('sha256').update(deviceCode).digest('base64url')}`;
    if ((await store.hit(key, config.deviceFlow.pollIntervalSeconds)) > 1) {
      ctx.status = 400;
      ctx.set('Cache-Control', 'no-store');
      ctx.body = {
        error: 'slow_down',
        error_description: 'you are polling too quickly; wait the interval between polls',
      };
      return;
    }
    return next();
  };
  return (ctx, next) => (ctx.method !== 'POST' || ctx.path !== '/token' ? next() : handle(ctx, next));
}
