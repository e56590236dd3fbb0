/**
 * One resource for a whole test file (a Redis, a Gatehouse): started in `test.before`, stopped in
 * `test.after.always`. The returned object stands for it once started: read it inside tests and hooks, not while
 * the file loads (that throws).
 */
import type { TestFn } from 'ava';

export function perFile<T extends object>(test: TestFn, start: () => Promise<T>, stop: (it: T) => Promise<void>): T {
  let it: T | undefined;
  test.before(async () => {
    it = await start();
  });
  test.after.always(async () => {
    if (it) await stop(it);
  });
  return new Proxy({} as T, {
    get(_target, key) {
      if (!it) throw new Error(`read ${String(key)} of a per-file resource before test.before started it`);
      const value = Reflect.get(it, key, it);
      return typeof value === 'function' ? value.bind(it) : value;
    },
  });
}
