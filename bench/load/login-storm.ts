/**
 * The login load driver: N virtual users in their own process, each doing complete password logins through
 * Gatehouse's real pages, one after the other, for a fixed time — GET /auth → sign-in page → POST the form
 * (argon2id verify) → consent step (first-party: no page) → redirect to the client with a code. Each virtual
 * user starts every login as a new browser (empty cookie jar), so every login is a full sign-in.
 *
 * Driven over IPC: { endpoints, client, user, scope, users, durationSec } → { logins, failures, rps, p50, p99, max };
 * { cmd: 'stop' } ends the window early (the mixed run stops the storm when its refresh run ends).
 * Only logins that finish inside the window count; a failed login is counted and its reason kept (first 5).
 */
import { authorizationUrl, browse, type ClientCreds, CookieJar, type Endpoints, pkce, type User } from '../lib/oauth.ts';
import { percentile } from '../lib/stats.ts';

interface Ask {
  endpoints: Endpoints;
  client: ClientCreds;
  user: User;
  scope: string;
  users: number;
  durationSec: number;
}

export interface StormSummary {
  logins: number;
  failures: number;
  failureReasons: string[];
  durationSec: number;
  rps: number;
  p50: number;
  p99: number;
  max: number;
}

let end = Number.POSITIVE_INFINITY;

async function storm(a: Ask): Promise<StormSummary> {
  const latencies: number[] = [];
  const reasons: string[] = [];
  let failures = 0;
  const start = performance.now();
  end = start + a.durationSec * 1000;
  const virtualUser = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        const p = pkce();
        const { passwordPosts } = await browse(authorizationUrl(a.endpoints, a.client, a.scope, p.challenge), a.endpoints, a.user, new CookieJar(), a.client.redirectUri);
        if (passwordPosts !== 1) throw new Error(`a fresh browser posted the password ${passwordPosts} times`);
        if (performance.now() <= end) latencies.push(performance.now() - t0);
      } catch (err) {
        failures += 1;
        if (reasons.length < 5) reasons.push((err as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: a.users }, virtualUser));
  const durationSec = (end - start) / 1000;
  const sorted = latencies.sort((x, y) => x - y);
  return {
    logins: sorted.length,
    failures,
    failureReasons: reasons,
    durationSec,
    rps: sorted.length / durationSec,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? 0,
  };
}

process.on('message', (a: Ask | { cmd: 'stop' }) => {
  if ('cmd' in a) {
    end = Math.min(end, performance.now());
    return;
  }
  storm(a).then(
    (r) => process.send?.(r),
    (err: Error) => process.send?.({ error: err.message }),
  );
});
