/**
 * `/healthz`: the process is alive. `/readyz`: storage answers and signing keys are loaded. Neither needs
 * authentication and neither says anything secret.
 */
import type { Context, Middleware } from 'koa';
import type { Store } from '../storage/types.ts';

export function healthRoutes(store: Store, isStopping: () => boolean): Middleware {
  const readiness = async (ctx: Context): Promise<void> => {
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
  };
  return (ctx, next) => {
    if (ctx.method !== 'GET') return next();
    if (ctx.path === '/healthz') {
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { status: 'ok' };
      return undefined;
    }
    return ctx.path === '/readyz' ? readiness(ctx) : next();
  };
}
