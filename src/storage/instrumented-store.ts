/**
 * A decorator around any `Store` that times every storage operation and counts the ones that fail, for the
 * metrics (src/http/metrics.ts). It changes no behaviour: every call goes to the wrapped store with the same
 * arguments, and every result or error comes back unchanged.
 *
 * Rules:
 * - Operation names are fixed (`<Model>.<method>` for oidc-provider adapters, `accounts.*`, `clients.*`,
 *   `throttle.*`, `sessionIndex.*`, `oneTimeTokens.*`, `grantIndex.*`, `emailIndex.*`, `storage.ping`), never an id or key, so label cardinality stays bounded.
 * - Only storage failures count as errors (`StorageUnavailable`, or anything that is not a protocol or
 *   conflict outcome): a refused consume (`InvalidGrant`, reuse) or a taken username (`StorageConflict`) is an
 *   answer, not an error.
 * - Properties the interface does not name (the Redis store's `client`, `keys`) stay reachable through the
 *   prototype, and methods it does not time are forwarded to the real store, so code and tests that inspect
 *   the real store keep working.
 */
import { errors } from 'oidc-provider';
import { type Store, StorageConflict, StorageUnavailable } from './types.ts';

type StorageObserver = (operation: string, seconds: number, failed: boolean) => void;

function isFailure(err: unknown): boolean {
  if (err instanceof StorageUnavailable) return true;
  return !(err instanceof errors.OIDCProviderError || err instanceof StorageConflict);
}

/** Method names of an object literal or a class instance (own and inherited, short of Object.prototype). */
function methodNames(target: object): string[] {
  const names = new Set<string>();
  for (let o: object | null = target; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const name of Object.getOwnPropertyNames(o)) if (name !== 'constructor') names.add(name);
  }
  return [...names];
}

function timed<T extends object>(target: T, prefix: string, observe: StorageObserver): T {
  const out: Record<string, unknown> = {};
  for (const name of methodNames(target) as Array<keyof T & string>) {
    const fn = target[name];
    if (typeof fn !== 'function') continue;
    const operation = `${prefix}.${name}`;
    // Not an async function: one promise per call (the operation's own), not a second one around it.
    out[name] = (...args: unknown[]) => {
      const started = performance.now();
      let pending: Promise<unknown>;
      try {
        pending = Promise.resolve((fn as (...a: unknown[]) => Promise<unknown>).apply(target, args));
      } catch (err) {
        pending = Promise.reject(err);
      }
      return pending.then(
        (result) => {
          observe(operation, (performance.now() - started) / 1000, false);
          return result;
        },
        (err: unknown) => {
          observe(operation, (performance.now() - started) / 1000, isFailure(err));
          throw err;
        },
      );
    };
  }
  return out as T;
}

export function instrumentStore<S extends Store>(inner: S, observe: StorageObserver): S {
  const adapters = new Map<string, ReturnType<Store['adapter']>>();
  const accounts = timed(inner.accounts, 'accounts', observe);
  const clients = timed(inner.clients, 'clients', observe);
  const throttle = timed(inner.throttle, 'throttle', observe);
  const sessionIndex = timed(inner.sessionIndex, 'sessionIndex', observe);
  const oneTimeTokens = timed(inner.oneTimeTokens, 'oneTimeTokens', observe);
  const logoutQueue = timed(inner.logoutQueue, 'logoutQueue', observe);
  const grantIndex = timed(inner.grantIndex, 'grantIndex', observe);
  const emailIndex = timed(inner.emailIndex, 'emailIndex', observe);
  const ping = timed({ ping: () => inner.ping() }, 'storage', observe);
  const wrapper = Object.create(inner) as S;
  // Every other method (hints such as `prefetch`, a store's extras) goes to the real store, called on
  // it (a class's #private fields need the real `this`), untimed: it is not a storage round trip of its own.
  for (const name of methodNames(inner)) {
    const fn = (inner as unknown as Record<string, unknown>)[name];
    if (typeof fn === 'function')
      Object.defineProperty(wrapper, name, {
        value: (...args: unknown[]) => fn.apply(inner, args),
        configurable: true,
      });
  }
  Object.defineProperties(wrapper, {
    kind: { value: inner.kind, enumerable: true },
    accounts: { value: accounts, enumerable: true },
    clients: { value: clients, enumerable: true },
    throttle: { value: throttle, enumerable: true },
    sessionIndex: { value: sessionIndex, enumerable: true },
    oneTimeTokens: { value: oneTimeTokens, enumerable: true },
    logoutQueue: { value: logoutQueue, enumerable: true },
    grantIndex: { value: grantIndex, enumerable: true },
    emailIndex: { value: emailIndex, enumerable: true },
    adapter: {
      value: (model: string) => {
        let adapter = adapters.get(model);
        if (!adapter) {
          adapter = timed(inner.adapter(model), model, observe);
          adapters.set(model, adapter);
        }
        return adapter;
      },
    },
    onReuse: { value: (listener: Parameters<Store['onReuse']>[0]) => inner.onReuse(listener) },
    ping: { value: () => ping.ping() },
    close: { value: () => inner.close() },
  });
  return wrapper;
}
