/**
 * Login throttling, counted in the store (Redis in production) so every instance sees the same counts.
 *
 * Rules:
 * - Failures are counted per username (known or not, case-insensitive) and per client IP within a window.
 * - From the `maxFailures`-th failure of a username, it is locked for an exponentially growing time
 *   (base × 2^(n − max)) capped at `lockCapSeconds`: bounded, so an attacker cannot lock a user out for ever.
 * - An IP is locked the same way after `ipMaxFailures` failures, across usernames. IPv6 addresses count by their
 *   /64 (src/web/client-ip.ts).
 * - A locked IP is answered at once by the caller: no password is checked and nothing is counted, neither towards
 *   the IP nor towards the username it tried (so one address cannot keep other people's accounts locked).
 * - A successful login clears the username's failures (not the IP's).
 */
import { addressKey } from '../web/client-ip.ts';
import type { GuardVerdict, LoginGuard } from './login-guard.ts';
import type { ThrottleStore } from '../storage/types.ts';

interface ThrottlePolicy {
  readonly windowSeconds: number;
  readonly maxFailures: number;
  readonly ipMaxFailures: number;
  readonly lockBaseSeconds: number;
  readonly lockCapSeconds: number;
}

export function createLoginThrottle(
  store: ThrottleStore,
  policy: ThrottlePolicy,
  onLock?: (kind: 'user' | 'ip') => void,
): LoginGuard {
  const userKey = (u: string) => `login:user:${u.toLowerCase().slice(0, 64)}`;
  const ipKey = (ip: string) => `login:ip:${addressKey(ip)}`;
  const lockFor = (count: number, max: number) =>
    Math.min(policy.lockCapSeconds, policy.lockBaseSeconds * 2 ** Math.min(count - max, 20));

  return {
    async check(username, ip) {
      const [ipLeft, userLeft] = await Promise.all([store.ttl(ipKey(ip)), store.ttl(userKey(username))]);
      if (ipLeft > 0) return { allowed: false, reason: 'throttled', retryAfterSeconds: ipLeft } satisfies GuardVerdict;
      if (userLeft > 0) return { allowed: false, reason: 'locked', retryAfterSeconds: userLeft } satisfies GuardVerdict;
      return { allowed: true };
    },
    async failed(username, ip) {
      const [u, i] = await Promise.all([
        store.hit(userKey(username), policy.windowSeconds),
        store.hit(ipKey(ip), policy.windowSeconds),
      ]);
      if (u >= policy.maxFailures) {
        await store.lock(userKey(username), lockFor(u, policy.maxFailures));
        onLock?.('user');
      }
      if (i >= policy.ipMaxFailures) {
        await store.lock(ipKey(ip), lockFor(i, policy.ipMaxFailures));
        onLock?.('ip');
      }
    },
    async succeeded(username) {
      await store.reset(userKey(username));
    },
  };
}
