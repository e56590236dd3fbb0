/**
 * The demo protected API: what a resource server trusting Gatehouse looks like.
 *
 *   GET /api/health   public
 *   GET /api/profile  scope api:read; the token's subject, client and claims
 *   GET /api/admin    role admin
 *
 * Rules: JSON only; authenticated answers are `Cache-Control: no-store`; unknown paths 404, other methods 405;
 * every error is rendered by bearerErrorRenderer (RFC 6750).
 */
import Koa, { type Middleware } from 'koa';
import type { Logger } from 'pino';
import { requestContext } from '../http/request-context.ts';
import { bearerErrorRenderer } from './bearer-error.ts';
import type { AccessToken } from './access-token.ts';
import type { TokenGuard } from './middleware.ts';

function compose(...steps: Middleware[]): Middleware {
  return async (ctx, next) => {
    const run = async (i: number): Promise<void> => {
      const step = steps[i];
      if (step) await step(ctx, () => run(i + 1));
      else await next();
    };
    await run(0);
  };
}

export function createDemoApi(guard: TokenGuard, log: Logger): Koa {
  const routes: Record<string, Middleware> = {
    '/api/health': async (ctx) => {
      ctx.body = { status: 'ok' };
    },
    '/api/profile': compose(guard.authenticate, guard.requireScope('api:read'), async (ctx) => {
      const token = ctx.state.accessToken as AccessToken;
      ctx.body = {
        message: 'This answer comes from the protected API: the access token was valid.',
        sub: token.sub,
        client_id: token.clientId,
        scope: [...token.scopes].join(' '),
        roles: token.roles,
        expires_at: token.exp,
        checked_by: token.checkedBy,
        claims: token.claims,
      };
    }),
    '/api/admin': compose(guard.authenticate, guard.requireRole('admin'), async (ctx) => {
      const token = ctx.state.accessToken as AccessToken;
      ctx.body = { message: 'Welcome, administrator.', sub: token.sub, roles: token.roles };
    }),
  };

  const app = new Koa();
  app.silent = true;
  app.use(requestContext(log));
  app.use(async (ctx, next) => {
    ctx.set({ 'X-Content-Type-Options': 'nosniff', 'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'" });
    await next();
  });
  app.use(bearerErrorRenderer(guard.realm, log));
  app.use(async (ctx, next) => {
    const route = routes[ctx.path];
    if (!route) return next();
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.status = 405;
      ctx.set('Allow', 'GET, HEAD');
      ctx.body = { error: 'invalid_request', error_description: 'method not allowed' };
      return;
    }
    await route(ctx, next);
  });
  return app;
}
