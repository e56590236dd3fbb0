/**
 * `/healthz`: the process is alive. `/readyz`: storage answers and signing keys are loaded. Neither needs
 * authentication and neither says anything secret.
 */
import type { Middleware } from 'koa';
import type { Store } from '../storage/types.ts';

export function healthRoutes(store: Store, isStopping: () => boolean): Middleware {
  return async (ctx, next) => {
    if (ctx.path === '/healthz' && ctx.method === 'GET') {
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { status: 'ok' };
      return;
    }
    if (ctx.path === '/readyz' && ctx.method === 'GET') {
      ctx.set('Cache-Control', 'no-store');
      let storage = 'ok';
      try {
        await store.ping();
      } catch {
        storage = 'unavailable';
      }
      const ready = storage === 'ok' && !isStopping();
      ctx.status = ready ? 200 : 503;
      ctx.body = { status: ready ? 'ready' : 'not_ready', storage, keys: 'loaded', stopping: isStopping() };
      return;
    }
    await next();
  };
}
