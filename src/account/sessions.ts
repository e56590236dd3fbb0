/**
 * The sessions of an account: what the Devices section shows, and the one place where the account center ends
 * sessions (`endSessions`).
 *
 * Rules:
 * - A session is recorded (src/storage/account-records.ts) when it completes an authorization and when it
 *   opens /account: its User-Agent, IP and the time. Sign-in time and the applications used in it come from the
 *   Session record itself, so the index holds nothing the session does not vouch for.
 * - Listing checks each recorded session against the Session records: one that ended (logout, expiry) or that
 *   belongs to another account is dropped from the index and never shown.
 * - Ending a session deletes it and revokes the grants used in it (every token of them), except that
 *   `keepOffline` keeps grants holding `offline_access` (a password change keeps the access a user gave to
 *   applications that work while they are away; a lost device or a reset ends everything).
 */
import type { BackchannelLogout, LogoutNotice } from '../provider/backchannel-logout.ts';
import Bowser from 'bowser';
import type Provider from 'oidc-provider';
import type { Audit } from '../audit/audit.ts';
import type { SessionActivity, SessionIndexStore } from '../storage/account-records.ts';

export type EndReason = 'device_signout' | 'signout_others' | 'password_change' | 'password_reset' | 'admin_signout';

export interface DeviceSession {
  readonly uid: string;
  readonly browser: string;
  readonly os: string;
  readonly ip: string;
  /** Seconds since the epoch. */
  readonly signedInAt: number | undefined;
  /** Milliseconds since the epoch. */
  readonly lastSeenAt: number;
  readonly clientIds: readonly string[];
}

export interface SessionDeps {
  provider: Provider;
  index: SessionIndexStore;
  /** How long the index of an account is kept after its last activity: the session lifetime. */
  ttlSeconds: number;
  audit: Audit;
  /** Tells the clients used in each ended session (back-channel logout, src/provider/backchannel-logout.ts). */
  notifyLogout?: BackchannelLogout['notifyLogout'];
}

type Session = NonNullable<Awaited<ReturnType<Provider['Session']['findByUid']>>>;

const MAX_USER_AGENT = 512;

export function touchSession(
  deps: SessionDeps,
  accountId: string,
  uid: string,
  userAgent: string,
  ip: string,
): Promise<void> {
  const activity: SessionActivity = { userAgent: userAgent.slice(0, MAX_USER_AGENT), ip, lastSeenAt: Date.now() };
  return deps.index.touch(accountId, uid, activity, deps.ttlSeconds);
}

function describe(userAgent: string): { browser: string; os: string } {
  const parsed = Bowser.parse(userAgent || 'unknown');
  const browser = [parsed.browser.name, parsed.browser.version?.split('.')[0]].filter(Boolean).join(' ');
  const os = [parsed.os.name, parsed.os.versionName ?? parsed.os.version].filter(Boolean).join(' ');
  return { browser, os };
}

/** The live sessions of `accountId`, newest activity first; ended ones are pruned from the index. */
export async function listSessions(deps: SessionDeps, accountId: string): Promise<DeviceSession[]> {
  const recorded = await deps.index.list(accountId);
  const found = await Promise.all(
    Object.keys(recorded).map(async (uid) => [uid, await deps.provider.Session.findByUid(uid)] as const),
  );
  const gone = found.filter(([, s]) => s?.accountId !== accountId).map(([uid]) => uid);
  if (gone.length > 0) await deps.index.remove(accountId, gone);
  return found
    .filter((entry): entry is readonly [string, Session] => entry[1]?.accountId === accountId)
    .map(([uid, session]) => {
      const activity = recorded[uid] as SessionActivity;
      return {
        uid,
        ...describe(activity.userAgent),
        ip: activity.ip,
        signedInAt: session.loginTs,
        lastSeenAt: activity.lastSeenAt,
        clientIds: Object.keys(session.authorizations ?? {}),
      };
    })
    .sort((a, b) => b.lastSeenAt - a.lastSeenAt);
}

/**
 * Ends the sessions `uids` of `accountId` (others' sessions are ignored): every session ending of the account
 * center goes through here. Returns how many ended.
 */
export async function endSessions(
  deps: SessionDeps,
  accountId: string,
  uids: readonly string[],
  reason: EndReason,
  options: { keepOffline?: boolean } = {},
): Promise<number> {
  let ended = 0;
  const notices: LogoutNotice[] = [];
  for (const uid of uids) {
    const session = await deps.provider.Session.findByUid(uid);
    if (!session || session.accountId !== accountId) continue;
    for (const [clientId, authorization] of Object.entries(session.authorizations ?? {})) {
      notices.push({ clientId, sub: accountId, sid: (authorization as { sid?: string }).sid });
      const grantId = (authorization as { grantId?: string }).grantId;
      if (!grantId) continue;
      const grant = await deps.provider.Grant.find(grantId);
      if (!grant || grant.accountId !== accountId) continue;
      if (options.keepOffline && grant.getOIDCScope().split(' ').includes('offline_access')) continue;
      await grant.destroy();
      deps.audit('grant.revoked', { clientId, sub: accountId, reason });
    }
    await session.destroy();
    ended += 1;
  }
  await deps.index.remove(accountId, uids);
  if (notices.length > 0) await deps.notifyLogout?.(notices);
  if (ended > 0) deps.audit('account.sessions_ended', { sub: accountId, reason, kind: String(ended) });
  return ended;
}
