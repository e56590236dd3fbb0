/**
 * The threads that hash passwords: a few worker_threads Workers running ./hash-worker.ts, shared by everything
 * in the process that hashes (like libuv's own pool, it is a process-wide resource: created on first use,
 * never keeping the process alive).
 *
 * Why not the `argon2` package's async API: it runs on libuv's thread pool, which WebCrypto shares to sign every
 * ID token and JWT access token: a login storm would queue each signature behind the hashes, and lowering the
 * pool's priority would slow every signature. Own threads give hashing its own queue and its own (lower)
 * priority (docs/performance.md has the measurement).
 *
 * Rules:
 * - As many threads as cores (`availableParallelism()`): argon2 is CPU-bound, more would only queue in the OS.
 * - Jobs run in arrival order; each thread runs one at a time.
 * - The queue is bounded: a job that would wait behind `maxQueuedPerThread` × threads others is refused at once
 *   (HashingBusy), so a login storm costs a bounded wait and bounded memory instead of an ever-growing backlog.
 * - A job whose caller gave up (its AbortSignal fired, e.g. the client closed the connection) leaves the queue
 *   without being hashed (HashingAborted); one already running finishes, its result unused.
 * - A thread that dies fails its job (the caller's verification fails closed) and is replaced.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { HashJob, HashResult } from './hash-worker.ts';

/** The nice value of the hashing threads (0 is the event loop's; 19 the lowest priority). */
export const HASHING_NICE = 10;

type Pending = { job: HashJob; resolve: (r: HashResult) => void; reject: (e: Error) => void };

/** The hashing queue is full: the caller should answer 503 with Retry-After and try nothing else. */
export class HashingBusy extends Error {
  readonly code = 'HASHING_BUSY';
  override name = 'HashingBusy';
  constructor() {
    super('the password hashing queue is full');
  }
}

/** The caller's AbortSignal fired while its job was still waiting: it was never hashed. */
export class HashingAborted extends Error {
  readonly code = 'HASHING_ABORTED';
  override name = 'HashingAborted';
  constructor() {
    super('the password hashing job was abandoned by its caller');
  }
}

interface RunOptions {
  /** Refuse the job (HashingBusy) when this many jobs per thread are already waiting. Unset: no bound. */
  readonly maxQueuedPerThread?: number;
  /** Drop the job from the queue when this fires. */
  readonly signal?: AbortSignal;
}
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

// Compiled (dist/*.js) the worker is a .js file next to this one; run from source, a .ts file.
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './hash-worker.ts' : './hash-worker.js', import.meta.url);

class HashingThread {
  readonly #worker: Worker;
  #current: Pending | undefined;
  tid: number | undefined;
  readonly ready: Promise<void>;
  constructor(onIdle: (t: HashingThread) => void, onDead: (t: HashingThread) => void) {
    this.#worker = new Worker(WORKER_URL, { workerData: { nice: HASHING_NICE } });
    let started: () => void = () => {};
    this.ready = new Promise<void>((resolve) => {
      started = resolve;
    });
    this.#worker.on('message', (msg: HashResult & { ready?: boolean; tid?: number }) => {
      if (msg.ready) {
        // From now on only a busy thread keeps the process alive (run takes the reference, the answer drops it).
        this.#worker.unref();
        this.tid = msg.tid;
        started();
        onIdle(this);
        return;
      }
      const done = this.#current;
      this.#current = undefined;
      this.#worker.unref();
      if (done) {
        if (msg.error !== undefined) done.reject(new Error(`argon2: ${msg.error}`));
        else done.resolve(msg);
      }
      onIdle(this);
    });
    const fail = (err: Error) => {
      this.#current?.reject(err);
      this.#current = undefined;
      started();
      onDead(this);
    };
    this.#worker.on('error', fail);
    this.#worker.on('exit', (code) => fail(new Error(`hashing thread exited (${code})`)));
  }
  run(p: Pending): void {
    this.#current = p;
    this.#worker.ref();
    this.#worker.postMessage(p.job);
  }
}

class HashingPool {
  readonly #size: number;
  readonly #threads = new Set<HashingThread>();
  readonly #idle: HashingThread[] = [];
  readonly #queue: Pending[] = [];
  #nextId = 1;

  constructor(size = availableParallelism()) {
    this.#size = Math.max(1, size);
  }

  run(job: DistributiveOmit<HashJob, 'id'>, options: RunOptions = {}): Promise<HashResult> {
    const { maxQueuedPerThread, signal } = options;
    this.#grow();
    if (signal?.aborted) return Promise.reject(new HashingAborted());
    if (maxQueuedPerThread !== undefined && this.#queue.length >= maxQueuedPerThread * this.#size)
      return Promise.reject(new HashingBusy());
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const i = this.#queue.indexOf(pending);
        if (i < 0) return;
        this.#queue.splice(i, 1);
        reject(new HashingAborted());
      };
      const done = () => signal?.removeEventListener('abort', onAbort);
      const pending: Pending = {
        job: { ...job, id: this.#nextId++ } as HashJob,
        resolve: (r) => {
          done();
          resolve(r);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(pending);
      this.#dispatch();
    });
  }

  /** Jobs waiting for a thread (diagnostics and tests). */
  get queued(): number {
    return this.#queue.length;
  }

  /** Jobs ever accepted into the queue (diagnostics and tests: a refused or pre-aborted job is not one). */
  get accepted(): number {
    return this.#nextId - 1;
  }

  /** The OS thread ids of the started threads (Linux), for tests and diagnostics. */
  async threadIds(): Promise<number[]> {
    this.#grow();
    await Promise.all([...this.#threads].map((t) => t.ready));
    return [...this.#threads].map((t) => t.tid).filter((tid): tid is number => tid !== undefined);
  }

  #grow(): void {
    while (this.#threads.size < this.#size) {
      const thread = new HashingThread(
        (t) => {
          this.#idle.push(t);
          this.#dispatch();
        },
        (t) => {
          this.#threads.delete(t);
          const i = this.#idle.indexOf(t);
          if (i >= 0) this.#idle.splice(i, 1);
          if (this.#queue.length > 0) this.#grow();
        },
      );
      this.#threads.add(thread);
    }
  }

  #dispatch(): void {
    while (this.#idle.length > 0 && this.#queue.length > 0)
      (this.#idle.shift() as HashingThread).run(this.#queue.shift() as Pending);
  }
}

let shared: HashingPool | undefined;

/** The process's hashing threads, started on first use. */
export function hashingPool(): HashingPool {
  shared ??= new HashingPool();
  return shared;
}
