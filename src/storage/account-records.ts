/**
 * Records of the account center (src/account/): the index of each account's live sessions and single-use
 * tokens (password reset, email verification). Both expire; neither holds a secret in the clear.
 *
 * Rules every implementation enforces:
 * - The session index of an account lives as long as its newest entry could matter (`ttlSeconds`, the session
 *   lifetime, renewed on every touch). Entries of sessions that ended are pruned by their reader
 *   (src/account/sessions.ts), which checks each against the Session records.
 * - A single-use token is stored under the hash of its value with a TTL; `consume` reads and deletes it in one
 *   atomic step, so of any number of concurrent consumers exactly one gets the record.
 */

/** What the index keeps of one session (the rest comes from the Session record itself). */
export interface SessionActivity {
  /** Raw User-Agent header (at most 512 characters), parsed for display only. */
  readonly userAgent: string;
  readonly ip: string;
  /** Milliseconds since the epoch. */
  readonly lastSeenAt: number;
}

export interface SessionIndexStore {
  /** Records activity of session `uid` of `accountId`; the index is kept `ttlSeconds` from now. */
  touch(accountId: string, uid: string, activity: SessionActivity, ttlSeconds: number): Promise<void>;
  /** Session uid → activity, for every session recorded for the account. */
  list(accountId: string): Promise<Record<string, SessionActivity>>;
  remove(accountId: string, uids: readonly string[]): Promise<void>;
}

export interface OneTimeRecord {
  /** What the token is for: `reset` (password), `verify` (email). */
  readonly purpose: string;
  readonly accountId: string;
  /** Extra facts the token proves (e.g. the email address being verified). */
  readonly data?: Readonly<Record<string, string>>;
}

export interface OneTimeTokenStore {
  /** Stores `record` under `hash` (never the token itself) for `ttlSeconds`. */
  put(hash: string, record: OneTimeRecord, ttlSeconds: number): Promise<void>;
  /** The record, removed in the same atomic step; undefined when unknown, expired or already consumed. */
  consume(hash: string): Promise<OneTimeRecord | undefined>;
}

/** The part of the memory store's keyspace these records need. */
interface KeyValue {
  get<T>(key: string): T | undefined;
  set(key: string, value: unknown, ttlMs?: number): void;
  delete(key: string): boolean;
}

/** `keyspace` is read on each call (the store builds its keyspace after its fields). */
export function memorySessionIndex(keyspace: () => KeyValue): SessionIndexStore {
  const ks = {
    get: <T>(key: string) => keyspace().get<T>(key),
    set: (key: string, v: unknown, ttl?: number) => keyspace().set(key, v, ttl),
  };
  const k = (accountId: string) => `sessions:${accountId}`;
  return {
    touch: async (accountId, uid, activity, ttlSeconds) => {
      const entries = { ...(ks.get<Record<string, SessionActivity>>(k(accountId)) ?? {}), [uid]: { ...activity } };
      ks.set(k(accountId), entries, ttlSeconds * 1000);
    },
    list: async (accountId) => structuredClone(ks.get<Record<string, SessionActivity>>(k(accountId)) ?? {}),
    remove: async (accountId, uids) => {
      const entries = ks.get<Record<string, SessionActivity>>(k(accountId));
      if (!entries) return;
      for (const uid of uids) delete entries[uid];
    },
  };
}

export function memoryOneTimeTokens(keyspace: () => KeyValue): OneTimeTokenStore {
  const ks = {
    get: <T>(key: string) => keyspace().get<T>(key),
    set: (key: string, v: unknown, ttl?: number) => keyspace().set(key, v, ttl),
    delete: (key: string) => keyspace().delete(key),
  };
  const k = (hash: string) => `ott:${hash}`;
  return {
    put: async (hash, record, ttlSeconds) => {
      ks.set(k(hash), structuredClone(record), ttlSeconds * 1000);
    },
    // Read and delete happen in one synchronous step: no other consumer can run in between.
    consume: async (hash) => {
      const record = ks.get<OneTimeRecord>(k(hash));
      if (record) ks.delete(k(hash));
      return record;
    },
  };
}

/**
 * The grants each account gave (Connected applications on /account). An entry lives until its grant expires;
 * the index of an account lives as long as its longest entry. Grants that ended earlier (logout, revocation)
 * are pruned by their reader (src/account/grants.ts), which checks each against the Grant records.
 */
export interface GrantIndexStore {
  /** Records grant `grantId` of `accountId` until `expiresAt` (milliseconds since the epoch). */
  add(accountId: string, grantId: string, expiresAt: number): Promise<void>;
  /** Grant id → expiry (ms) of every entry of the account that has not expired. */
  list(accountId: string): Promise<Record<string, number>>;
  remove(accountId: string, grantIds: readonly string[]): Promise<void>;
}

export function memoryGrantIndex(keyspace: () => KeyValue): GrantIndexStore {
  const k = (accountId: string) => `grants:${accountId}`;
  const live = (accountId: string): Record<string, number> => {
    const now = Date.now();
    return Object.fromEntries(
      Object.entries(keyspace().get<Record<string, number>>(k(accountId)) ?? {}).filter(([, exp]) => exp > now),
    );
  };
  const save = (accountId: string, entries: Record<string, number>) => {
    const latest = Math.max(...Object.values(entries));
    if (Number.isFinite(latest) && latest > Date.now()) keyspace().set(k(accountId), entries, latest - Date.now());
    else keyspace().delete(k(accountId));
  };
  return {
    add: async (accountId, grantId, expiresAt) => save(accountId, { ...live(accountId), [grantId]: expiresAt }),
    list: async (accountId) => live(accountId),
    remove: async (accountId, grantIds) => {
      const entries = live(accountId);
      for (const id of grantIds) delete entries[id];
      save(accountId, entries);
    },
  };
}

/**
 * Email address → account, so a reset by email is one lookup, whatever the number of accounts. An address
 * points at the first account that claimed it; entries never expire (accounts do not). Readers check the
 * account record itself, so a stale entry finds nothing.
 */
export interface EmailIndexStore {
  /** Points `email` (case-folded) at `accountId` unless it points at another account; true when it now points at `accountId`. */
  claim(email: string, accountId: string): Promise<boolean>;
  find(email: string): Promise<string | undefined>;
  /** Removes the entry of `email` if it points at `accountId`. */
  release(email: string, accountId: string): Promise<void>;
}

export const foldEmail = (email: string) => email.trim().toLowerCase();

export function memoryEmailIndex(keyspace: () => KeyValue): EmailIndexStore {
  const k = (email: string) => `email:${foldEmail(email)}`;
  return {
    claim: async (email, accountId) => {
      const current = keyspace().get<string>(k(email));
      if (current === undefined) keyspace().set(k(email), accountId);
      return (current ?? accountId) === accountId;
    },
    find: async (email) => keyspace().get<string>(k(email)),
    release: async (email, accountId) => {
      if (keyspace().get<string>(k(email)) === accountId) keyspace().delete(k(email));
    },
  };
}
