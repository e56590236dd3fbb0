/**
 * The login load driver: N virtual users in their own process, each doing complete password logins through
 * Gatehouse's real pages, one after the other — GET /auth → sign-in page → POST the form (argon2id verify) →
 * consent step (first-party: no page) → redirect to the client with a code. Each virtual user starts every
 * login as a new browser (empty cookie jar), so every login is a full sign-in.
 *
 * Driven over IPC: { endpoints, client, user, scope, users, durationSec, rampSec } → StormSummary;
 * { cmd: 'stop' } ends the window early (the mixed run stops the storm when its refresh run ends).
 * Rules: the first `rampSec` seconds fill the pipeline and are not counted; a login counts when it completes
 * inside the window [start + rampSec, end]; a failed login is counted and its reason kept (first 5).
 */
import {
  authorizationUrl,
  browse,
  type ClientCreds,
  CookieJar,
  type Endpoints,
  pkce,
  type User,
} from '../lib/oauth.ts';
import { percentile } from '../lib/stats.ts';

interface Ask {
  endpoints: Endpoints;
  client: ClientCreds;
  user: User;
  scope: string;
  users: number;
  durationSec: number;
  rampSec: number;
}

export interface StormSummary {
  logins: number;
  /** Every login that finished, counted or not (ramp and in-flight at the end included). */
  completed: number;
  failures: number;
  failureReasons: string[];
  /** Length of the counted window. */
  durationSec: number;
  rps: number;
  p50: number;
  p99: number;
  max: number;
  /** Every counted login's duration in ms (so several windows can be merged). */
  latencies: number[];
  /** This driver's own CPU milliseconds over the whole storm (it shares the machine with Gatehouse). */
  driverCpuMs: number;
}

let end = Number.POSITIVE_INFINITY;

async function storm(a: Ask): Promise<StormSummary> {
  const latencies: number[] = [];
  const reasons: string[] = [];
  let failures = 0;
  let completed = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const from = start + a.rampSec * 1000;
  end = from + a.durationSec * 1000;
  const virtualUser = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        const p = pkce();
        const { passwordPosts } = await browse(
          authorizationUrl(a.endpoints, a.client, a.scope, p.challenge),
          a.endpoints,
          a.user,
          new CookieJar(),
          a.client.redirectUri,
        );
        if (passwordPosts !== 1) throw new Error(`a fresh browser posted the password ${passwordPosts} times`);
        const t1 = performance.now();
        completed += 1;
        if (t1 >= from && t1 <= end) latencies.push(t1 - t0);
      } catch (err) {
        failures += 1;
        if (reasons.length < 5) reasons.push((err as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: a.users }, virtualUser));
  const durationSec = Math.max(0.001, (end - from) / 1000);
  const cpu = process.cpuUsage(cpu0);
  const sorted = latencies.sort((x, y) => x - y);
  return {
    logins: sorted.length,
    completed,
    failures,
    failureReasons: reasons,
    durationSec,
    rps: sorted.length / durationSec,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? 0,
    latencies: sorted,
    driverCpuMs: (cpu.user + cpu.system) / 1000,
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
