/**
 * OpenID Connect Back-Channel Logout 1.0: a client that registers `backchannel_logout_uri` receives a signed
 * logout token when its user's session at Gatehouse ends.
 *
 * Rules:
 * - Triggers: RP-initiated logout (oidc-provider calls `Client#backchannelLogout` for each client of the
 *   session; that call only enqueues), reuse detection revoking a family (with the `sid` the token carried), and
 *   anything else that ends sessions through `notifyLogout`.
 * - Queue in the store (src/storage/logout-queue.ts): the logout page never waits for a client; a notification
 *   survives a restart and is delivered by whichever instance claims it. A failed attempt is retried after
 *   `retryBaseSeconds` × 4^(attempt-1) (5 s, 20 s, 80 s, ... by default), at most MAX_ATTEMPTS attempts, never
 *   past DEADLINE_MS after the logout. Each outcome is an audit line (`backchannel_logout.*`) and a metric.
 * - Delivery: POST `logout_token=<JWT>` to the registered URI only; redirects are not followed (a 3xx is a
 *   failure); `timeoutSeconds` per attempt.
 * - SSRF: only http(s) URIs without credentials or fragment. Loopback, private, link-local, CGNAT, multicast and
 *   other special ranges are refused — at registration for IP literals and `localhost`, and at delivery for every
 *   address the name resolves to (so a name that later points inside is refused too) — unless
 *   `BACKCHANNEL_ALLOW_PRIVATE_NETWORKS=true`.
 * - The logout token (spec 2.4): `iss`, `aud` (the client), `iat`, `exp` (2 minutes), `jti`, `sub`, `sid` when
 *   the session is known, `events` with the back-channel logout event, header `typ: logout+jwt`, never a `nonce`.
 *   Signed fresh for every attempt with the client's ID token algorithm (an asymmetric one; else ID_TOKEN_ALG).
 */
import { randomUUID } from 'node:crypto';
import { type LookupAddress, lookup as dnsLookup } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP } from 'node:net';
import { importJWK, SignJWT } from 'jose';
import type Provider from 'oidc-provider';
import type { Logger } from 'pino';
import type { Audit } from '../audit/audit.ts';
import type { Config } from '../config/types.ts';
import type { LogoutJob, LogoutQueue } from '../storage/logout-queue.ts';
import { type PrivateJwks, signingKeyFor } from './keys.ts';

export const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const MAX_ATTEMPTS = 6;
const DEADLINE_MS = 24 * 3600_000;
const POLL_MS = 1000;
const BATCH = 20;
const REUSE = /^(refresh token|authorization code) already (used|consumed)$/;

const SPECIAL = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 3],
] as const)
  SPECIAL.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 127],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
  ['2001:db8::', 32],
] as const)
  SPECIAL.addSubnet(net, bits, 'ipv6');

/** True for an address no back-channel request may reach (loopback, private, link-local, ...). */
export function isSpecialAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare)?.[1];
  if (mapped) return SPECIAL.check(mapped, 'ipv4');
  const family = isIP(bare);
  if (family === 0) return false;
  return SPECIAL.check(bare, family === 6 ? 'ipv6' : 'ipv4');
}

/** Validates a `backchannel_logout_uri` (client metadata); throws with the reason. */
export function validateBackchannelUri(value: unknown, allowPrivate: boolean): void {
  if (value === undefined) return;
  if (typeof value !== 'string' || !URL.canParse(value))
    throw new Error('backchannel_logout_uri must be an absolute URL');
  const url = new URL(value);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('backchannel_logout_uri must be http(s)');
  if (url.username || url.password || url.hash)
    throw new Error('backchannel_logout_uri must not carry credentials or a fragment');
  if (allowPrivate) return;
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  if (host === 'localhost' || host.endsWith('.localhost') || isSpecialAddress(host)) {
    throw new Error(
      'backchannel_logout_uri points at a loopback or private address (set BACKCHANNEL_ALLOW_PRIVATE_NETWORKS=true to allow it)',
    );
  }
}

class RefusedAddress extends Error {
  readonly code = 'EREFUSEDADDRESS';
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** dns.lookup that leaves out special addresses (unless allowed); none left is an error. */
function guardedLookup(allowPrivate: boolean) {
  return (hostname: string, options: { all?: boolean }, callback: LookupCallback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const usable = allowPrivate ? addresses : addresses.filter((a) => !isSpecialAddress(a.address));
      const first = usable[0];
      if (!first) return callback(new RefusedAddress(`${hostname} resolves only to private addresses`), []);
      if (options.all) return callback(null, usable);
      callback(null, first.address, first.family);
    });
  };
}

/** POSTs the form to `uri`; resolves with the status. No redirects, bounded time, body discarded. */
function post(uri: string, body: string, timeoutMs: number, allowPrivate: boolean): Promise<number> {
  const url = new URL(uri);
  if (!allowPrivate && isSpecialAddress(url.hostname)) return Promise.reject(new RefusedAddress('private address'));
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) },
        lookup: guardedLookup(allowPrivate) as never,
        signal: AbortSignal.timeout(timeoutMs),
      },
      (res: IncomingMessage) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** One ended session (or all of a user's sessions at a client, without `sid`) that `clientId` must learn about. */
export interface LogoutNotice {
  readonly clientId: string;
  readonly sub: string;
  readonly sid?: string | undefined;
}

export interface BackchannelLogout {
  /** Queues a logout token for each notice whose client registered a back-channel URI; returns at once after the store write. */
  notifyLogout(notices: readonly LogoutNotice[]): Promise<void>;
  /** Stops polling; resolves when the round in progress (if any) has finished. */
  stop(): Promise<void>;
}

interface BackchannelDeps {
  config: Config;
  /**
   * The queue, uninstrumented: its once-a-second poll is background work, kept out of the per-operation storage
   * metrics that describe request traffic; its failures are logged (once per outage).
   */
  queue: LogoutQueue;
  jwks: PrivateJwks;
  audit: Audit;
  log: Logger;
}

interface LogoutClient {
  clientId: string;
  backchannelLogoutUri?: string;
  idTokenSignedResponseAlg?: string;
}

export function installBackchannelLogout(
  provider: Provider,
  { config, queue, jwks, audit, log }: BackchannelDeps,
): BackchannelLogout {
  const settings = config.backchannelLogout;
  const timeoutMs = settings.timeoutSeconds * 1000;
  const leaseMs = timeoutMs + 5000;
  const keys = new Map<string, ReturnType<typeof importJWK>>();
  const keyFor = (alg: string) => {
    const jwk = jwks.keys.find((k) => k.alg === alg) ?? signingKeyFor(jwks, config.signing.idTokenAlg);
    let key = keys.get(jwk.kid);
    if (!key) {
      key = importJWK(jwk, jwk.alg);
      keys.set(jwk.kid, key);
    }
    return { jwk, key };
  };

  async function logoutToken(client: LogoutClient, job: LogoutJob): Promise<string> {
    const { jwk, key } = keyFor(client.idTokenSignedResponseAlg ?? config.signing.idTokenAlg);
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ events: { [LOGOUT_EVENT]: {} }, ...(job.sid ? { sid: job.sid } : {}) })
      .setProtectedHeader({ alg: jwk.alg, kid: jwk.kid, typ: 'logout+jwt' })
      .setIssuer(config.issuer)
      .setAudience(client.clientId)
      .setSubject(job.sub)
      .setIssuedAt(now)
      .setExpirationTime(now + 120)
      .setJti(randomUUID())
      .sign(await key);
  }

  async function deliver(job: LogoutJob): Promise<void> {
    const client = (await provider.Client.find(job.clientId).catch(() => undefined)) as LogoutClient | undefined;
    const uri = client?.backchannelLogoutUri;
    if (!client || !uri) {
      // Removed, changed or no longer valid under this instance's rules: nothing to deliver to.
      await queue.remove(job.id);
      audit('backchannel_logout.abandoned', {
        clientId: job.clientId,
        sub: job.sub,
        reason: 'client gone or without a valid back-channel URI',
        attempts: String(job.attempts),
      });
      return;
    }
    const attempts = job.attempts + 1;
    let reason: string;
    try {
      const status = await post(
        uri,
        new URLSearchParams({ logout_token: await logoutToken(client, job) }).toString(),
        timeoutMs,
        settings.allowPrivateNetworks,
      );
      if (status === 200 || status === 204) {
        await queue.remove(job.id);
        audit('backchannel_logout.delivered', { clientId: job.clientId, sub: job.sub, attempts: String(attempts) });
        return;
      }
      reason = `answered ${status}`;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      reason =
        e.name === 'TimeoutError' || e.name === 'AbortError'
          ? 'timed out'
          : e instanceof RefusedAddress
            ? 'private address refused'
            : `unreachable (${e.code ?? e.name})`;
    }
    const retryAt = Date.now() + settings.retryBaseSeconds * 1000 * 4 ** (attempts - 1);
    if (attempts >= MAX_ATTEMPTS || retryAt >= job.deadline) {
      await queue.remove(job.id);
      audit('backchannel_logout.abandoned', {
        clientId: job.clientId,
        sub: job.sub,
        reason,
        attempts: String(attempts),
      });
      return;
    }
    await queue.push({ ...job, attempts }, retryAt);
    audit('backchannel_logout.failed', { clientId: job.clientId, sub: job.sub, reason, attempts: String(attempts) });
  }

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let unavailable = false;
  const tick = async () => {
    const jobs = await queue.claim(Date.now(), BATCH, leaseMs);
    if (unavailable) log.info('back-channel logout queue available again');
    unavailable = false;
    await Promise.all(
      jobs.map((job) =>
        deliver(job).catch((err) => log.warn({ err, clientId: job.clientId }, 'back-channel logout delivery failed')),
      ),
    );
  };
  /** Runs a round now (unless one is running), then keeps polling. */
  const kick = () => {
    if (stopped || running) return;
    clearTimeout(timer);
    running = tick()
      .catch((err) => {
        if (!unavailable)
          log.warn(
            { errorCode: (err as NodeJS.ErrnoException).code, error: (err as Error).message },
            'back-channel logout queue unavailable',
          );
        unavailable = true;
      })
      .finally(() => {
        running = undefined;
        if (!stopped) timer = setTimeout(kick, POLL_MS).unref();
      });
  };

  async function notifyLogout(notices: readonly LogoutNotice[]): Promise<void> {
    const now = Date.now();
    for (const n of notices) {
      await queue.push(
        { id: randomUUID(), clientId: n.clientId, sub: n.sub, sid: n.sid, attempts: 0, deadline: now + DEADLINE_MS },
        now,
      );
    }
    if (notices.length > 0) kick();
  }

  // oidc-provider calls this for each client of a session ending by RP-initiated logout; it only enqueues.
  (
    provider.Client.prototype as unknown as { backchannelLogout(sub: string, sid: string): Promise<void> }
  ).backchannelLogout = async function (this: LogoutClient, sub: string, sid: string) {
    await notifyLogout([{ clientId: this.clientId, sub, sid }]);
  };
  // Reuse detection revoked a family (whichever of oidc-provider or the store caught it, both end in this
  // grant.error: see src/audit/provider-events.ts): the client learns that the user's session with it is over.
  provider.on('grant.error', (ctx, err) => {
    if (!REUSE.test((err as { error_detail?: string }).error_detail ?? '')) return;
    const client = ctx.oidc.client as unknown as LogoutClient | undefined;
    const token = (ctx.oidc.entities.RefreshToken ?? ctx.oidc.entities.AuthorizationCode) as
      | { accountId?: string; sid?: string }
      | undefined;
    if (!client?.backchannelLogoutUri || !token?.accountId) return;
    notifyLogout([{ clientId: client.clientId, sub: token.accountId, sid: token.sid }]).catch((e) =>
      log.warn({ err: e }, 'back-channel logout after reuse detection not queued'),
    );
  });

  timer = setTimeout(kick, POLL_MS).unref();
  return {
    notifyLogout,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
