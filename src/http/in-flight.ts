/**
 * Counts requests still inside the host app's middleware, so a graceful stop closes storage only after the last
 * one is done. The HTTP server's `close` callback fires when the last connection closes, which can be before a
 * request's middleware has finished: its access-log line, or a refresh token's held-back consume that the storage
 * scope settles when the request ends, would otherwise reach a closed Redis.
 *
 * Rules:
 * - The middleware goes first, so everything after it (request scope, provider) is counted.
 * - `drained(ms)` resolves when no request is in flight, or after `ms` at the latest (a stuck request must not
 *   keep the process from stopping; main.ts's own timeout already cut its connection off).
 */
import type { Middleware } from 'koa';

interface InFlight {
  readonly middleware: Middleware;
  drained(timeoutMs: number): Promise<void>;
}

export function createInFlight(): InFlight {
  let count = 0;
  let waiters: Array<() => void> = [];
  const settle = () => {
    if (count > 0) return;
    const done = waiters;
    waiters = [];
    for (const resolve of done) resolve();
  };
  return {
    middleware: async (_ctx, next) => {
      count++;
      try {
        await next();
      } finally {
        count--;
        settle();
      }
    },
    drained(timeoutMs) {
      if (count === 0) return Promise.resolve();
      return new Promise((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        timer.unref();
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
