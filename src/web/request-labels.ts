/**
 * Per-request scope carried through async calls (AsyncLocalStorage), so that code far from the Koa context —
 * oidc-provider's event listeners, the login throttle's lock callback, the storage decorator — can still name
 * the request it works for.
 *
 * Rules:
 * - The scope holds only what is safe to log: the request id and the route name used as a metric label.
 * - `route` is a route *name* (oidc-provider's `ctx.oidc.route`, or one of Gatehouse's own), never a raw path,
 *   so ids in paths cannot blow up metric cardinality.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Middleware } from 'koa';

interface RequestScope {
  readonly requestId: string;
  /** Set by whoever recognises the request: oidc-provider's route name or Gatehouse's own. */
  route?: string;
}

const storage = new AsyncLocalStorage<RequestScope>();

export function currentScope(): RequestScope | undefined {
  return storage.getStore();
}

/** Runs the rest of the request inside a scope. Put it right after `requestContext`, which sets the id. */
export function requestScope(): Middleware {
  return (ctx, next) => storage.run({ requestId: String(ctx.state.requestId ?? '') }, next);
}

/**
 * oidc-provider middleware: after the provider handled a request, copy its route name (`authorization`,
 * `token`, `userinfo`, …) into the scope. Requests it did not route keep no name.
 */
export function reportProviderRoute(): (
  ctx: { oidc?: { route?: string } },
  next: () => Promise<unknown>,
) => Promise<void> {
  return async (ctx, next) => {
    try {
      await next();
    } finally {
      const scope = storage.getStore();
      if (scope && ctx.oidc?.route) scope.route = ctx.oidc.route;
    }
  };
}
