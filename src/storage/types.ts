/**
 * What Gatehouse needs from storage. Two implementations: the embedded memory store (development, tests) and
 * Redis (production). Both must pass tests/storage/contract.test.ts.
 *
 * Rules every implementation enforces:
 * - `consume` is a compare-and-set: of two concurrent consumers of one record exactly one wins. Consuming a
 *   missing or expired record creates nothing and fails.
 * - Refresh tokens are generations of a lineage (./refresh-lineage.ts): their ids are minted with the store's
 *   `refreshTokens` codec, and the store keeps one record per lineage. A used generation found within the reuse
 *   interval is returned as if unconsumed (the grace period); outside it, at any depth, it is returned consumed,
 *   and oidc-provider revokes the family. A `consume` that loses a race outside the interval revokes the whole
 *   family itself (ReuseDetected).
 * - ReplayDetection `find` is an atomic claim (./reuse-policy.ts REPLAY_CLAIM_MS).
 * - Every record with an expiry is stored with one; only clients and accounts never expire.
 */
import { type Adapter, type ClientMetadata, errors } from 'oidc-provider';
import type { EmailIndexStore, GrantIndexStore, OneTimeTokenStore, SessionIndexStore } from './account-records.ts';
import type { LogoutQueue } from './logout-queue.ts';
import type { MfaRecord } from './mfa-record.ts';
import type { RefreshTokenCodec } from './refresh-lineage.ts';

export interface Account {
  readonly id: string;
  readonly username: string;
  readonly passwordHash: string;
  readonly email?: string;
  readonly emailVerified?: boolean;
  readonly name?: string;
  readonly givenName?: string;
  readonly familyName?: string;
  readonly roles: readonly string[];
  readonly disabled: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly phoneNumber?: string;
  readonly address?: { readonly formatted?: string; readonly country?: string; readonly locality?: string };
  /** Second factors (./mfa-record.ts): public keys, a sealed TOTP secret, hashed recovery codes. */
  readonly mfa?: MfaRecord;
}

export interface AccountStore {
  findById(id: string): Promise<Account | undefined>;
  findByUsername(username: string): Promise<Account | undefined>;
  /** Fails with StorageConflict when the username is taken. */
  create(account: Account): Promise<void>;
  update(account: Account): Promise<void>;
  remove(id: string): Promise<boolean>;
  list(): Promise<Account[]>;
}

export interface ClientStore {
  /** Persists client metadata (no expiry); oidc-provider reads it through the `Client` adapter model. */
  save(metadata: ClientMetadata): Promise<void>;
  remove(clientId: string): Promise<boolean>;
  list(): Promise<ClientMetadata[]>;
}

export interface ThrottleStore {
  /** Adds one hit to `key` in a window of `windowSeconds`; returns the count in the window. */
  hit(key: string, windowSeconds: number): Promise<number>;
  count(key: string): Promise<number>;
  reset(key: string): Promise<void>;
  /** Takes back one hit of `key` (a request that turned out not to count); never creates the key. */
  release(key: string): Promise<void>;
  /** Sets `key` until `seconds` from now (e.g. a lock); `ttl` returns the seconds left, 0 when unset. */
  lock(key: string, seconds: number): Promise<void>;
  ttl(key: string): Promise<number>;
}

/** Emitted by a store when a consumed refresh token or code is presented outside the reuse interval. */
export interface ReuseEvent {
  readonly model: string;
  readonly grantId: string | undefined;
  readonly clientId: string | undefined;
  readonly accountId: string | undefined;
}

/** What a back-channel request will look up (see Store.prefetch). */
export interface PrefetchHint {
  readonly clientId?: string | undefined;
  readonly refreshToken?: string | undefined;
  readonly accessToken?: string | undefined;
  readonly code?: string | undefined;
  /** The access token may be of any kind (introspection): whether it is another kind of token is read too. */
  readonly anyKind?: boolean | undefined;
}

export interface Store {
  readonly kind: 'memory' | 'redis';
  adapter(model: string): Adapter;
  /** Mints and verifies refresh-token values with this store's key (src/provider/oidc-internals.ts uses it). */
  readonly refreshTokens: RefreshTokenCodec;
  /**
   * A hint at the start of a back-channel request: it will look up the client `clientId`; for a refresh-token
   * grant the refresh token `refreshToken` with its Grant, account and session; for userinfo or introspection the
   * opaque access token `accessToken`, for a code exchange the authorization code `code`, each with its Grant,
   * account, client and session. A store that pays per round
   * trip reads them now, for this request only (./prefetch-scope.ts); the memory store ignores it. Never changes
   * what the reads answer.
   */
  prefetch(what: PrefetchHint): void;
  readonly accounts: AccountStore;
  readonly clients: ClientStore;
  readonly throttle: ThrottleStore;
  /** The account center's records (./account-records.ts). */
  readonly sessionIndex: SessionIndexStore;
  readonly oneTimeTokens: OneTimeTokenStore;
  /** Back-channel logout notifications still to deliver (./logout-queue.ts). */
  readonly logoutQueue: LogoutQueue;
  readonly grantIndex: GrantIndexStore;
  readonly emailIndex: EmailIndexStore;
  /** Registers a listener for reuse detections (audit, metrics). */
  onReuse(listener: (event: ReuseEvent) => void): void;
  /** Resolves when storage answers; rejects (StorageUnavailable) when it does not. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Storage did not answer. Built on oidc-provider's error class so that the provider's own routes answer it as
 * 503 `temporarily_unavailable` (it renders its errors itself); src/web/errors.ts renders it on Gatehouse's
 * routes. Never carries Redis internals to the client: the description is fixed, the cause stays for the log.
 */
/** What a client is told when storage does not answer, and when to try again: the one home of both. */
export const STORAGE_UNAVAILABLE = Object.freeze({
  description: 'storage is unavailable, try again shortly',
  retryAfterSeconds: 2,
});

export class StorageUnavailable extends errors.OIDCProviderError {
  readonly code = 'STORAGE_UNAVAILABLE';
  override name = 'StorageUnavailable';
  constructor(detail = 'storage is unavailable', options?: { cause?: unknown }) {
    super(503, 'temporarily_unavailable', options?.cause === undefined ? { detail } : { detail, cause: options.cause });
    this.expose = true;
    this.error_description = STORAGE_UNAVAILABLE.description;
    this.allow_redirect = true;
  }
}

export class StorageConflict extends Error {
  readonly code = 'STORAGE_CONFLICT';
  override name = 'StorageConflict';
}
