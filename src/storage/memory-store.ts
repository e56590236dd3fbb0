/**
 * The embedded in-memory store: development and tests only (production refuses it). It implements the same
 * contract as the Redis store, including atomic consume, the reuse policy and bounded families, so behaviour
 * seen in development is the behaviour of production. Records are copied in and out (as Redis would
 * serialise them) so callers never share mutable state with the store.
 */
import { MemoryLogoutQueue } from './logout-queue.ts';
import { randomBytes } from 'node:crypto';
import { errors, type Adapter, type AdapterPayload, type ClientMetadata } from 'oidc-provider';
import { memoryEmailIndex, memoryGrantIndex, memoryOneTimeTokens, memorySessionIndex } from './account-records.ts';
import { consumeOutcome, type LineageState, RefreshTokenCodec, saveOutcome, standing } from './refresh-lineage.ts';
import { GRANT_MEMBER_MODELS, REPLAY_CLAIM_MS, type ReusePolicy } from './reuse-policy.ts';
import { type Account, type PrefetchHint, type ReuseEvent, type Store, StorageConflict } from './types.ts';

interface Entry {
  value: unknown;
  expiresAt: number | undefined;
}

/** One refresh-token lineage (./refresh-lineage.ts): its state and the current generation's payload. */
interface Lineage extends LineageState {
  readonly p: AdapterPayload;
}

class Keyspace {
  readonly #map = new Map<string, Entry>();
  readonly #sweeper: NodeJS.Timeout;
  private readonly now: () => number;

  constructor(now: () => number) {
    this.now = now;
    this.#sweeper = setInterval(() => this.sweep(), 30_000);
    this.#sweeper.unref();
  }

  get<T>(key: string): T | undefined {
    const entry = this.#map.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= this.now()) {
      this.#map.delete(key);
      return undefined;
    }
    return entry.value as T;
  }

  set(key: string, value: unknown, ttlMs?: number): void {
    this.#map.set(key, { value, expiresAt: ttlMs === undefined ? undefined : this.now() + ttlMs });
  }

  expiresAt(key: string): number | undefined {
    return this.#map.get(key)?.expiresAt;
  }

  delete(key: string): boolean {
    return this.#map.delete(key);
  }

  keys(prefix: string): string[] {
    return [...this.#map.keys()].filter((k) => k.startsWith(prefix) && this.get(k) !== undefined);
  }

  sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.#map)
      if (entry.expiresAt !== undefined && entry.expiresAt <= now) this.#map.delete(key);
  }

  /** Keys with no expiry; the contract test uses it to prove that only durable records lack a TTL. */
  persistentKeys(): string[] {
    return [...this.#map.entries()].filter(([, e]) => e.expiresAt === undefined).map(([k]) => k);
  }

  get size(): number {
    this.sweep();
    return this.#map.size;
  }

  close(): void {
    clearInterval(this.#sweeper);
  }
}

const clone = <T>(value: T): T => (value === undefined ? value : structuredClone(value));

const key = (model: string, id: string) => `${model}:${id}`;
const grantKey = (grantId: string) => `grant:${grantId}`;
const lineageKey = (lineage: string) => `RefreshToken:${lineage}`;
const uidKey = (uid: string) => `uid:${uid}`;
const userCodeKey = (code: string) => `userCode:${code}`;

interface MemoryStoreOptions {
  readonly reuse: ReusePolicy;
  /** Clock in ms; tests pass a fake one to test expiry. */
  readonly now?: () => number;
}

export class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  readonly #ks: Keyspace;
  readonly #now: () => number;
  readonly #reuse: ReusePolicy;
  readonly #listeners: Array<(e: ReuseEvent) => void> = [];
  /** A key of its own: refresh tokens live as long as the process, like everything else here. */
  readonly refreshTokens = new RefreshTokenCodec(randomBytes(32));

  constructor({ reuse, now = Date.now }: MemoryStoreOptions) {
    this.#now = now;
    this.#reuse = reuse;
    this.#ks = new Keyspace(now);
  }

  /** For tests: keys stored without an expiry. */
  persistentKeys(): string[] {
    return this.#ks.persistentKeys();
  }

  /** For tests: every live key. */
  liveKeys(): string[] {
    return this.#ks.keys('');
  }

  get keyCount(): number {
    return this.#ks.size;
  }

  onReuse(listener: (e: ReuseEvent) => void): void {
    this.#listeners.push(listener);
  }

  async ping(): Promise<void> {}

  /** Nothing to gain: every read is local. */
  prefetch(_what: PrefetchHint): void {}

  async close(): Promise<void> {
    this.#ks.close();
  }

  #addToGrant(grantId: string, member: string, expiresAt: number | undefined): void {
    const members = this.#ks.get<Record<string, number | null>>(grantKey(grantId)) ?? {};
    members[member] = expiresAt ?? null;
    const now = this.#now();
    let latest = 0;
    for (const [m, exp] of Object.entries(members)) {
      if (exp !== null && exp <= now) delete members[m];
      else latest = exp === null ? Number.POSITIVE_INFINITY : Math.max(latest, exp);
    }
    this.#ks.set(grantKey(grantId), members, Number.isFinite(latest) ? latest - now : undefined);
  }

  #revokeGrant(grantId: string): void {
    const members = this.#ks.get<Record<string, number | null>>(grantKey(grantId)) ?? {};
    for (const member of Object.keys(members)) {
      const payload = this.#ks.get<AdapterPayload>(member);
      if (payload?.userCode) this.#ks.delete(userCodeKey(payload.userCode));
      this.#ks.delete(member);
    }
    this.#ks.delete(grantKey(grantId));
    this.#ks.delete(key('Grant', grantId));
  }

  /** Refresh tokens: generations of a lineage, one record per lineage (./refresh-lineage.ts). */
  #refreshTokenAdapter(): Adapter {
    const ks = this.#ks;
    const store = this;
    const grace = this.#reuse.reuseIntervalMs;
    const parse = (id: string) => store.refreshTokens.parse(id);
    return {
      async upsert(id, payload, expiresIn) {
        const token = parse(id);
        if (!token || token.grantId !== payload.grantId)
          throw new TypeError('refresh token ids are minted by the store (refreshTokens.mint)');
        const k = lineageKey(token.lineage);
        const state = ks.get<Lineage>(k);
        const outcome = saveOutcome(state, token.gen);
        if (outcome === 'stale') return;
        const ttlMs = typeof expiresIn === 'number' ? expiresIn * 1000 : undefined;
        const now = store.#now();
        const next: Lineage =
          outcome === 'rewrite' && state
            ? { ...state, p: clone(payload) }
            : { n: token.gen, r: now, c: undefined, p: clone(payload) };
        ks.set(k, next, ttlMs);
        store.#addToGrant(token.grantId, k, ttlMs === undefined ? undefined : now + ttlMs);
      },
      async find(id) {
        const token = parse(id);
        const state = token && ks.get<Lineage>(lineageKey(token.lineage));
        if (!token || !state || state.p.grantId !== token.grantId) return undefined;
        const now = store.#now();
        const stand = standing(state, token.gen, now, grace);
        if (stand.kind === 'unknown') return undefined;
        const out: AdapterPayload = { ...clone(state.p), jti: id };
        if (stand.kind === 'used') out.consumed = Math.floor(stand.atMs / 1000);
        return out;
      },
      async findByUid() {
        return undefined;
      },
      async findByUserCode() {
        return undefined;
      },
      async consume(id) {
        const token = parse(id);
        const k = token && lineageKey(token.lineage);
        const state = k ? ks.get<Lineage>(k) : undefined;
        const now = store.#now();
        const outcome =
          token && state?.p.grantId === token.grantId ? consumeOutcome(state, token.gen, now, grace) : 'missing';
        if (outcome === 'missing') throw new errors.InvalidGrant('grant request is invalid');
        if (outcome === 'grace') return;
        if (outcome === 'ok' && k && state) {
          ks.set(k, { ...state, c: now }, Math.max((ks.expiresAt(k) ?? now + 1) - now, 1));
          return;
        }
        const payload = state?.p as AdapterPayload;
        if (payload.grantId) store.#revokeGrant(payload.grantId);
        store.#emitReuse('RefreshToken', payload);
        throw new errors.InvalidGrant('refresh token already used');
      },
      async destroy(id) {
        const token = parse(id);
        const k = token && lineageKey(token.lineage);
        if (!token || !k || ks.get<Lineage>(k)?.p.grantId !== token.grantId) return;
        ks.delete(k);
        const members = ks.get<Record<string, number | null>>(grantKey(token.grantId));
        if (members) delete members[k];
      },
      async revokeByGrantId(grantId) {
        const members = ks.get<Record<string, number | null>>(grantKey(grantId)) ?? {};
        for (const member of Object.keys(members)) if (member.startsWith('RefreshToken:')) ks.delete(member);
      },
    };
  }

  adapter(model: string): Adapter {
    if (model === 'RefreshToken') return this.#refreshTokenAdapter();
    const ks = this.#ks;
    const store = this;
    return {
      async upsert(id, payload, expiresIn) {
        const k = key(model, id);
        const ttlMs = typeof expiresIn === 'number' ? expiresIn * 1000 : undefined;
        ks.set(k, clone(payload), ttlMs);
        const expiresAt = ttlMs === undefined ? undefined : store.#now() + ttlMs;
        if (model === 'Session' && payload.uid) ks.set(uidKey(payload.uid), id, ttlMs);
        if (payload.userCode) ks.set(userCodeKey(payload.userCode), id, ttlMs);
        if (GRANT_MEMBER_MODELS.has(model) && payload.grantId) store.#addToGrant(payload.grantId, k, expiresAt);
      },
      async find(id) {
        const payload = ks.get<AdapterPayload>(key(model, id));
        if (model === 'ReplayDetection' && !payload) {
          ks.set(key(model, id), { jti: id, kind: model }, REPLAY_CLAIM_MS);
          return undefined;
        }
        if (!payload) return undefined;
        return clone(payload);
      },
      async findByUid(uid) {
        const id = ks.get<string>(uidKey(uid));
        return id === undefined ? undefined : this.find(id);
      },
      async findByUserCode(userCode) {
        const id = ks.get<string>(userCodeKey(userCode));
        return id === undefined ? undefined : this.find(id);
      },
      async consume(id) {
        const k = key(model, id);
        const payload = ks.get<AdapterPayload>(k);
        if (!payload) throw new errors.InvalidGrant('grant request is invalid');
        const now = store.#now();
        if (payload.consumed) {
          if (payload.grantId) store.#revokeGrant(payload.grantId);
          ks.delete(k);
          store.#emitReuse(model, payload);
          throw new errors.InvalidGrant(
            `${model === 'RefreshToken' ? 'refresh token' : 'authorization code'} already used`,
          );
        }
        payload.consumed = Math.floor(now / 1000);
      },
      async destroy(id) {
        const k = key(model, id);
        const payload = ks.get<AdapterPayload>(k);
        ks.delete(k);
        if (payload?.uid && model === 'Session') ks.delete(uidKey(payload.uid));
        if (payload?.userCode) ks.delete(userCodeKey(payload.userCode));
        if (model === 'Grant') store.#revokeGrant(id);
      },
      async revokeByGrantId(grantId) {
        const members = ks.get<Record<string, number | null>>(grantKey(grantId)) ?? {};
        for (const member of Object.keys(members)) {
          if (member.startsWith(`${model}:`)) ks.delete(member);
        }
      },
    };
  }

  #emitReuse(model: string, payload: AdapterPayload): void {
    const event: ReuseEvent = {
      model,
      grantId: payload.grantId,
      clientId: payload.clientId,
      accountId: payload.accountId,
    };
    for (const listener of this.#listeners) listener(event);
  }

  readonly accounts = {
    findById: async (id: string) => clone(this.#ks.get<Account>(`account:${id}`)),
    findByUsername: async (username: string) => {
      const id = this.#ks.get<string>(`username:${username.toLowerCase()}`);
      return id === undefined ? undefined : clone(this.#ks.get<Account>(`account:${id}`));
    },
    create: async (account: Account) => {
      const idx = `username:${account.username.toLowerCase()}`;
      if (this.#ks.get(idx) !== undefined) throw new StorageConflict(`username ${account.username} is taken`);
      this.#ks.set(idx, account.id);
      this.#ks.set(`account:${account.id}`, clone(account));
    },
    update: async (account: Account) => {
      this.#ks.set(`account:${account.id}`, clone(account));
    },
    remove: async (id: string) => {
      const account = this.#ks.get<Account>(`account:${id}`);
      if (!account) return false;
      this.#ks.delete(`username:${account.username.toLowerCase()}`);
      return this.#ks.delete(`account:${id}`);
    },
    list: async () =>
      this.#ks
        .keys('account:')
        .map((k) => clone(this.#ks.get<Account>(k) as Account))
        .sort((a, b) => a.username.localeCompare(b.username)),
  };

  readonly clients = {
    save: async (metadata: ClientMetadata) => {
      this.#ks.set(key('Client', metadata.client_id), clone(metadata));
    },
    remove: async (clientId: string) => this.#ks.delete(key('Client', clientId)),
    list: async () => this.#ks.keys('Client:').map((k) => clone(this.#ks.get<ClientMetadata>(k) as ClientMetadata)),
  };

  readonly sessionIndex = memorySessionIndex(() => this.#ks);
  readonly oneTimeTokens = memoryOneTimeTokens(() => this.#ks);
  readonly logoutQueue = new MemoryLogoutQueue();
  readonly grantIndex = memoryGrantIndex(() => this.#ks);
  readonly emailIndex = memoryEmailIndex(() => this.#ks);

  readonly throttle = {
    hit: async (k: string, windowSeconds: number) => {
      const full = `throttle:${k}`;
      const count = (this.#ks.get<number>(full) ?? 0) + 1;
      const exp = this.#ks.expiresAt(full);
      const keepMs = count === 1 || exp === undefined ? windowSeconds * 1000 : exp - this.#now();
      this.#ks.set(full, count, keepMs);
      return count;
    },
    count: async (k: string) => this.#ks.get<number>(`throttle:${k}`) ?? 0,
    release: async (k: string) => {
      const full = `throttle:${k}`;
      const count = this.#ks.get<number>(full);
      const exp = this.#ks.expiresAt(full);
      if (count !== undefined && count > 0)
        this.#ks.set(full, count - 1, exp === undefined ? undefined : exp - this.#now());
    },
    reset: async (k: string) => {
      this.#ks.delete(`throttle:${k}`);
    },
    lock: async (k: string, seconds: number) => {
      this.#ks.set(`lock:${k}`, 1, seconds * 1000);
    },
    ttl: async (k: string) => {
      if (this.#ks.get(`lock:${k}`) === undefined) return 0;
      return Math.ceil(((this.#ks.expiresAt(`lock:${k}`) ?? 0) - this.#now()) / 1000);
    },
  };
}
