/**
 * The storage scope of one HTTP request (AsyncLocalStorage), so a store that pays per round trip can serve the
 * provider's sequential look-ups from one read made at the start of the request, and can hold back one write to
 * send it together with the next. See docs/storage.md "Cost, measured".
 *
 * Rules it enforces:
 * - Lives exactly as long as the request: nothing read here outlives it, so a revoked grant or a disabled
 *   account is never served from an earlier request (this is not a cache).
 * - Prefetched token records are served once, and forgotten as soon as the same request writes that record
 *   (consume, upsert, destroy), so a read after a write always goes to the store.
 * - A deferred operation (the consume of a rotated refresh token) is always carried out: by the write it was
 *   deferred for, by the next storage call of the request, or at the latest when the request ends.
 * - A store whose prefetch has not been sent yet may let the request's counter hits (the rate limiter's) travel in
 *   the same script (`acceptHits` / `joinHit`); a hit that comes later is sent on its own. Either way it counts once.
 * - Outside a scope (CLI, tests calling the adapters directly) nothing is prefetched or deferred.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** A consume of a refresh-token generation accepted by the adapter but not yet sent; `run` sends it on its own. */
interface DeferredConsume {
  readonly model: string;
  readonly id: string;
  readonly grantId: string;
  readonly lineage: string;
  readonly gen: number;
  run(): Promise<void>;
}

/** Takes a counter hit into a pending store call: the hit's count once that call is answered. */
type JoinHit = (key: string, windowSeconds: number) => Promise<number>;

/** A read under way, or one already read whose value is only decoded when asked for (`offerDecoded`). */
type Read = Promise<unknown> | (() => unknown);

export class StorageScope {
  readonly #reads = new Map<string, Read>();
  #deferred: DeferredConsume | undefined;
  #joinHit: JoinHit | undefined;

  /** Remembers a read that is already under way; `key` is e.g. `RefreshToken:<id>` or `account:<id>`. */
  offer(key: string, value: Promise<unknown>): void {
    // A failed prefetch is not an error of the request: the look-up that needs it simply asks the store again.
    value.catch(() => {});
    this.#reads.set(key, value);
  }

  /**
   * Remembers a value already read whose decoding waits until someone asks for it: a prefetch reads more than most
   * requests look up, and what nobody asks for is never decoded.
   */
  offerDecoded(key: string, decode: () => unknown): void {
    this.#reads.set(key, decode);
  }

  /** The prefetched value for `key`, served once; undefined when nothing was prefetched. */
  take(key: string): Promise<unknown> | undefined {
    const value = this.peek(key);
    this.#reads.delete(key);
    return value;
  }

  /** Like take, but leaves the value for later readers (accounts: the provider asks for one twice). */
  peek(key: string): Promise<unknown> | undefined {
    const read = this.#reads.get(key);
    if (typeof read !== 'function') return read;
    const value = Promise.resolve().then(read);
    this.#reads.set(key, value);
    return value;
  }

  forget(key: string): void {
    this.#reads.delete(key);
  }

  /** While `join` is set, counter hits of this request go to it (undefined: the pending call has been sent). */
  acceptHits(join: JoinHit | undefined): void {
    this.#joinHit = join;
  }

  /** The count of a hit carried by the store call still pending, or undefined when none can carry it. */
  joinHit(key: string, windowSeconds: number): Promise<number> | undefined {
    return this.#joinHit?.(key, windowSeconds);
  }

  defer(op: DeferredConsume): void {
    this.#deferred = op;
  }

  /** The deferred operation, handed over to whoever carries it out. */
  takeDeferred(): DeferredConsume | undefined {
    const op = this.#deferred;
    this.#deferred = undefined;
    return op;
  }

  get hasDeferred(): boolean {
    return this.#deferred !== undefined;
  }

  /** Carries out what is still deferred (before any other storage call, and at the end of the request). */
  async settle(): Promise<void> {
    await this.takeDeferred()?.run();
  }
}

const storage = new AsyncLocalStorage<StorageScope>();

export function storageScope(): StorageScope | undefined {
  return storage.getStore();
}

/** Runs `fn` (the rest of the request) in a fresh scope, and settles what it left deferred. */
export async function withStorageScope<T>(fn: () => Promise<T>): Promise<T> {
  const scope = new StorageScope();
  try {
    return await storage.run(scope, fn);
  } finally {
    await scope.settle().catch(() => {});
  }
}
