/**
 * The refresh-token / code reuse rules shared by every store, kept apart from the storage mechanics so that the
 * memory store and the Redis scripts implement the same decisions (tests/storage/contract.test.ts checks both).
 *
 * - A consumed code is found consumed; oidc-provider then revokes the family. A `consume` of a record already
 *   consumed revokes the family and fails (two racing exchanges of one code: exactly one wins).
 * - Refresh tokens are not records of their own but generations of a lineage (./refresh-lineage.ts), with a
 *   grace period (`reuseIntervalMs`) for the generation just rotated. On Redis, refresh tokens of the earlier
 *   one-record-per-token format keep the same grace period on their record (redis/scripts.ts CONSUME).
 */
export interface ReusePolicy {
  /** Grace period for a just-rotated refresh token, in ms (0: strict). */
  readonly reuseIntervalMs: number;
}

export const GRANT_MEMBER_MODELS: ReadonlySet<string> = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]);

/**
 * oidc-provider's ReplayDetection (client assertion `jti`, DPoP proof ids) asks `find` and then saves. Both stores
 * make the `find` itself an atomic claim (set-if-absent): the first caller finds nothing and holds the id for
 * this long, until its save replaces the claim with the record's own expiry; every later caller finds it. So
 * of any number of concurrent presentations of one assertion exactly one is accepted.
 */
export const REPLAY_CLAIM_MS = 10 * 60 * 1000;
