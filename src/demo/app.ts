/**
 * The demo web client: a backend-for-frontend that signs users in at Gatehouse and calls the demo API for them.
 *
 *   GET  /              the page (signed in or not)
 *   GET  /login         starts the code flow (PKCE + state + nonce) → Gatehouse
 *   GET  /callback      finishes it; tokens go into the server-side session
 *   POST /call/profile  calls the API (GET /api/profile), refreshing silently on 401
 *   POST /call/admin    the same for GET /api/admin
 *   POST /logout        revokes the refresh token, clears the session and cookie, → Gatehouse end_session
 *
 * Rules:
 * - The session cookie is HttpOnly, SameSite=Lax (Lax: the callback is a top-level redirect from Gatehouse),
 *   Secure on https, and holds only a random id.
 * - State-changing requests must come from our own origin (Origin / Sec-Fetch-Site), and API calls must carry the
 *   `X-Demo-Request` header, which a cross-site form cannot send.
 * - Every page has a strict CSP: scripts and styles only with the response's nonce; forms may post only to us
 *   and to Gatehouse (the logout redirect).
 * - Errors are shaped by the shared shapeError: 4xx explained on the page, anything else a 500 without details.
 */
import { randomBytes } from 'node:crypto';
import Koa, { type Context } from 'koa';
import type { Logger } from 'pino';
import { HttpError, shapeError } from '../web/errors.ts';
import { requestContext } from '../http/request-context.ts';
import { ApiClient } from './api-client.ts';
import type { DemoClientConfig } from './config.ts';
import { renderPage } from './page.ts';
import { oauthError, RelyingParty } from './relying-party.ts';
import { type LifecycleEvent, record, type Session, SessionStore } from './sessions.ts';

export const SESSION_COOKIE = 'demo_session';
const LOGIN_TIMEOUT_MS = 10 * 60_000;

export interface DemoClient {
  app: Koa;
  sessions: SessionStore;
}

/**
 * When a session ends (logout, or a refresh that failed) its events are kept briefly under a random key, so the
 * page the browser lands on next (`/?state=<key>`, the logout `state`) can still show how it ended.
 */
class Farewells {
  readonly #byKey = new Map<string, { events: LifecycleEvent[]; reason: 'logout' | 'refresh_failed'; at: number }>();
  put(events: LifecycleEvent[], reason: 'logout' | 'refresh_failed'): string {
    if (this.#byKey.size >= 100) this.#byKey.delete(this.#byKey.keys().next().value as string);
    const key = randomBytes(16).toString('base64url');
    this.#byKey.set(key, { events, reason, at: Date.now() });
    return key;
  }
  take(key: string): { events: LifecycleEvent[]; reason: 'logout' | 'refresh_failed' } | undefined {
    const entry = this.#byKey.get(key);
    this.#byKey.delete(key);
    return entry && Date.now() - entry.at < 5 * 60_000 ? entry : undefined;
  }
}

export function createDemoClient(cfg: DemoClientConfig, log: Logger): DemoClient {
  const sessions = new SessionStore();
  const farewells = new Farewells();
  const rp = new RelyingParty(cfg);
  const api = new ApiClient(cfg, rp);
  const secure = new URL(cfg.redirectUri).protocol === 'https:';
  const issuerOrigin = new URL(cfg.issuer).origin;
  const callbackPath = new URL(cfg.redirectUri).pathname;
  const homePath = new URL(cfg.postLogoutRedirectUri).pathname;

  const current = (ctx: Context): Session | undefined => sessions.get(ctx.cookies.get(SESSION_COOKIE));
  const setCookie = (ctx: Context, session: Session) =>
    ctx.cookies.set(SESSION_COOKIE, session.id, {
      httpOnly: true,
      sameSite: 'lax',
      secure,
      path: '/',
      overwrite: true,
    });
  const clearCookie = (ctx: Context) =>
    ctx.cookies.set(SESSION_COOKIE, '', {
      httpOnly: true,
      sameSite: 'lax',
      secure,
      path: '/',
      maxAge: 0,
      overwrite: true,
    });

  function assertSameOrigin(ctx: Context): void {
    const site = ctx.get('sec-fetch-site');
    const origin = ctx.get('origin');
    // `Origin: null` is what a browser sends on a form post from a no-referrer page: Sec-Fetch-Site decides then.
    if ((site && site !== 'same-origin') || (origin && origin !== 'null' && origin !== cfg.origin)) {
      throw new HttpError(403, 'invalid_request', 'cross-site request refused');
    }
  }

  function page(
    ctx: Context,
    session: Session | undefined,
    extra: { problem?: string; events?: LifecycleEvent[] } = {},
  ): void {
    const nonce = ctx.state.nonce as string;
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    const signedIn = session?.tokens && session.user;
    ctx.body = renderPage(
      {
        user: signedIn ? session.user : undefined,
        expiresAt: signedIn ? session.tokens?.expiresAt : undefined,
        events: extra.events ?? session?.events ?? [],
        issuer: cfg.issuer,
        apiUrl: cfg.apiUrl,
        ...(extra.problem ? { problem: extra.problem } : {}),
      },
      nonce,
    );
  }

  const app = new Koa();
  app.silent = true;
  app.use(requestContext(log));
  app.use(async (ctx, next) => {
    const nonce = randomBytes(16).toString('base64');
    ctx.state.nonce = nonce;
    ctx.set({
      'Content-Security-Policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src 'self'; form-action 'self' ${issuerOrigin}; base-uri 'none'; frame-ancestors 'none'`,
      'X-Content-Type-Options': 'nosniff',
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'no-referrer',
      'Cross-Origin-Opener-Policy': 'same-origin',
    });
    await next();
  });
  app.use(async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new HttpError(404, 'not_found', 'no such page');
    } catch (err) {
      const shaped = shapeError(err);
      if (shaped.status >= 500) log.error({ err, path: ctx.path }, 'request failed');
      ctx.status = shaped.status;
      ctx.set(shaped.headers);
      if (ctx.path.startsWith('/call/'))
        ctx.body = {
          status: shaped.status,
          body: { error: shaped.error, error_description: shaped.description },
          signedIn: false,
        };
      else {
        page(ctx, undefined, { problem: `${shaped.error}: ${shaped.description}` });
        ctx.status = shaped.status;
      }
    }
  });

  app.use(async (ctx) => {
    const route = `${ctx.method} ${ctx.path}`;
    if (ctx.method === 'GET' && ctx.path === homePath) {
      const state = typeof ctx.query.state === 'string' ? ctx.query.state : undefined;
      const ended = state ? farewells.take(state) : undefined;
      if (ended?.reason === 'logout')
        record(ended, 'logout', 'Back from Gatehouse: its session has ended too. Signing in again needs the password.');
      page(ctx, current(ctx), ended ? { events: ended.events } : {});
      return;
    }
    switch (route) {
      case 'GET /healthz':
        ctx.body = { status: 'ok' };
        return;

      case 'GET /favicon.ico':
        ctx.status = 204;
        return;

      case 'GET /login': {
        const session = current(ctx) ?? sessions.create();
        let started: Awaited<ReturnType<RelyingParty['startLogin']>>;
        try {
          started = await rp.startLogin();
        } catch {
          throw new HttpError(503, 'temporarily_unavailable', 'Gatehouse cannot be reached; try again shortly');
        }
        session.pending = started.pending;
        setCookie(ctx, session);
        ctx.set('Cache-Control', 'no-store');
        ctx.status = 303;
        ctx.redirect(started.url);
        return;
      }

      case `GET ${callbackPath}`: {
        const before = current(ctx);
        const pending = before?.pending;
        if (!before || !pending || Date.now() - pending.startedAt > LOGIN_TIMEOUT_MS) {
          throw new HttpError(400, 'invalid_request', 'no sign-in in progress (or it timed out): start again');
        }
        before.pending = undefined;
        const session = sessions.rotate(before);
        setCookie(ctx, session);
        const callback = new URL(cfg.redirectUri);
        callback.search = ctx.querystring;
        try {
          const { tokens, user } = await rp.finishLogin(callback, pending);
          session.tokens = tokens;
          session.user = user;
        } catch (err) {
          const code = oauthError(err);
          record(session, 'error', `Sign-in failed: ${code ?? 'the response did not pass the checks'}`);
          if (code === undefined) log.warn({ reason: (err as Error).message }, 'sign-in callback refused');
          throw new HttpError(
            400,
            code ?? 'invalid_request',
            'the sign-in did not complete (state, nonce, PKCE or code check failed)',
          );
        }
        const seconds = Math.round((session.tokens.expiresAt - Date.now()) / 1000);
        record(
          session,
          'login',
          `Signed in as ${session.user?.username ?? session.user?.sub} (code flow with PKCE, state and nonce checked)`,
        );
        record(
          session,
          'tokens',
          `Tokens received: an access token valid ${seconds} s for ${cfg.apiAudience} and a refresh token`,
        );
        ctx.status = 303;
        ctx.redirect(homePath);
        return;
      }

      case 'POST /call/profile':
      case 'POST /call/admin': {
        assertSameOrigin(ctx);
        if (ctx.get('x-demo-request') !== '1')
          throw new HttpError(400, 'invalid_request', 'missing X-Demo-Request header');
        const session = current(ctx);
        ctx.set('Cache-Control', 'no-store');
        if (!session?.tokens) {
          ctx.status = 401;
          ctx.body = { status: 401, body: { error_description: 'not signed in' }, signedIn: false, events: [] };
          return;
        }
        const answer = await api.call(session, ctx.path === '/call/admin' ? '/api/admin' : '/api/profile');
        let next: string | undefined;
        if (!answer.signedIn) {
          sessions.destroy(session.id);
          clearCookie(ctx);
          record(session, 'logout', 'Session cleared here: sign in again');
          next = `${homePath}?state=${farewells.put(session.events, 'refresh_failed')}`;
        }
        ctx.body = {
          ...answer,
          expiresAt: session.tokens?.expiresAt ?? null,
          events: session.events,
          ...(next ? { next } : {}),
        };
        return;
      }

      case 'POST /logout': {
        assertSameOrigin(ctx);
        const session = current(ctx);
        clearCookie(ctx);
        ctx.set('Cache-Control', 'no-store');
        if (!session?.tokens) {
          if (session) sessions.destroy(session.id);
          ctx.status = 303;
          ctx.redirect(homePath);
          return;
        }
        const { refreshToken, idToken } = session.tokens;
        if (refreshToken) {
          try {
            await rp.revoke(refreshToken);
            record(session, 'logout', 'Refresh token revoked at Gatehouse (RFC 7009)');
          } catch {
            record(session, 'error', 'Could not revoke the refresh token (Gatehouse unreachable)');
          }
        }
        sessions.destroy(session.id);
        record(
          session,
          'logout',
          'Session and cookie cleared here; ending the Gatehouse session (RP-initiated logout)',
        );
        const state = farewells.put(session.events, 'logout');
        ctx.status = 303;
        try {
          ctx.redirect(await rp.endSessionUrl(idToken, state));
        } catch {
          ctx.redirect(homePath);
        }
        return;
      }
    }
  });

  return { app, sessions };
}
