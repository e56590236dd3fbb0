/**
 * The brute-force guard consulted around every password check. `check` says whether an attempt may go ahead;
 * `failed`/`succeeded` record the outcome. The throttling policy itself lives in accounts/throttle.ts.
 *
 * `throttled` means the client IP is locked: the caller answers at once, without a password check and without
 * calling `failed`. `locked` means the username is locked: the caller spends a dummy check (a locked account must
 * take the time any other failure takes) and records the failure.
 */
export type GuardVerdict =
  | { allowed: true }
  | { allowed: false; reason: 'locked' | 'throttled'; retryAfterSeconds: number };

export interface LoginGuard {
  check(username: string, ip: string): Promise<GuardVerdict>;
  failed(username: string, ip: string): Promise<void>;
  succeeded(username: string, ip: string): Promise<void>;
}
