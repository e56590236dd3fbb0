/**
 * One hashing thread (a worker_threads Worker, started by ./hashing-pool.ts): argon2id with Node's own
 * `crypto.argon2Sync`, on this thread — never on libuv's shared pool, which WebCrypto needs to sign tokens.
 *
 * Rules:
 * - On Linux the thread lowers its own scheduling priority (nice HASHING_NICE, from hashing-pool.ts): hashing is throughput work and
 *   takes the CPU the event loop leaves; token requests keep their latency during a login storm.
 * - Passwords arrive and leave only through the parent's message port; nothing is logged here.
 * - A verification compares in constant time; a malformed stored hash is a failed verification.
 */
import { argon2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { formatPhc, parsePhc } from './phc.ts';

export type HashJob =
  | { id: number; kind: 'hash'; password: string; memoryCost: number; timeCost: number; parallelism: number }
  | { id: number; kind: 'verify'; password: string; phc: string };
export type HashResult = { id: number; phc?: string; ok?: boolean; error?: string };

const SALT_BYTES = 16;
const HASH_BYTES = 32;

/** This thread's id on Linux (for its priority), or undefined elsewhere. */
function threadId(): number | undefined {
  try {
    return Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return undefined;
  }
}

function lowerPriority(nice: number): number | undefined {
  const tid = threadId();
  if (tid === undefined) return undefined;
  try {
    setPriority(tid, Math.max(nice, getPriority(tid)));
  } catch {
    // Without it hashing competes with the event loop on equal terms; nothing else changes.
  }
  return tid;
}

function run(job: HashJob): HashResult {
  if (job.kind === 'hash') {
    const salt = randomBytes(SALT_BYTES);
    const hash = argon2Sync('argon2id', {
      message: job.password,
      nonce: salt,
      memory: job.memoryCost,
      passes: job.timeCost,
      parallelism: job.parallelism,
      tagLength: HASH_BYTES,
    });
    return {
      id: job.id,
      phc: formatPhc({ memoryCost: job.memoryCost, timeCost: job.timeCost, parallelism: job.parallelism, salt, hash }),
    };
  }
  const stored = parsePhc(job.phc);
  if (!stored) return { id: job.id, ok: false };
  const hash = argon2Sync('argon2id', {
    message: job.password,
    nonce: stored.salt,
    memory: stored.memoryCost,
    passes: stored.timeCost,
    parallelism: stored.parallelism,
    tagLength: stored.hash.length,
  });
  return { id: job.id, ok: timingSafeEqual(hash, stored.hash) };
}

const port = parentPort;
if (port) {
  const tid = lowerPriority((workerData as { nice: number }).nice);
  port.postMessage({ ready: true, tid });
  port.on('message', (job: HashJob) => {
    try {
      port.postMessage(run(job));
    } catch (err) {
      // Parameters argon2 refuses (e.g. memory below its minimum): the message only, never the input.
      port.postMessage({ id: job.id, error: (err as Error).message } satisfies HashResult);
    }
  });
}
