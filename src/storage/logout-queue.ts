/**
 * The queue of back-channel logout notifications still to deliver (src/provider/backchannel-logout.ts), kept in
 * the store so that a notification survives a restart and any instance may deliver it.
 *
 * Rules every implementation enforces:
 * - A job is due at a time (unix ms); `claim` hands out due jobs and hides each for a lease, so two instances
 *   polling at once never both deliver it; a job that is neither retried nor removed comes back after its lease
 *   (its deliverer died).
 * - Every job has a deadline; past it, it is dropped (never handed out), and the queue's storage expires with
 *   its last deadline: nothing in it lives forever.
 */
export interface LogoutJob {
  readonly id: string;
  readonly clientId: string;
  readonly sub: string;
  readonly sid?: string | undefined;
  /** Delivery attempts made so far. */
  readonly attempts: number;
  /** Unix ms past which the job is dropped undelivered. */
  readonly deadline: number;
}

export interface LogoutQueue {
  /** Adds `job` (or replaces the job of the same id), due at `dueAt` (unix ms). */
  push(job: LogoutJob, dueAt: number): Promise<void>;
  /** Up to `max` jobs due at `now`, each hidden for `leaseMs`; jobs past their deadline are dropped instead. */
  claim(now: number, max: number, leaseMs: number): Promise<LogoutJob[]>;
  remove(id: string): Promise<void>;
}

/** The memory store's queue: the same rules in one process (a restart empties it, like the rest of that store). */
export class MemoryLogoutQueue implements LogoutQueue {
  readonly #jobs = new Map<string, { job: LogoutJob; due: number }>();

  async push(job: LogoutJob, dueAt: number): Promise<void> {
    this.#jobs.set(job.id, { job: { ...job }, due: dueAt });
  }

  async claim(now: number, max: number, leaseMs: number): Promise<LogoutJob[]> {
    const out: LogoutJob[] = [];
    for (const [id, entry] of [...this.#jobs].sort((a, b) => a[1].due - b[1].due)) {
      if (out.length >= max || entry.due > now) break;
      if (entry.job.deadline <= now) {
        this.#jobs.delete(id);
        continue;
      }
      entry.due = now + leaseMs;
      out.push({ ...entry.job });
    }
    return out;
  }

  async remove(id: string): Promise<void> {
    this.#jobs.delete(id);
  }
}
