/**
 * The refresh-token / code reuse rules shared by every store, kept apart from the storage mechanics so that the
 * memory store and the Redis scripts implement the same decisions (tests/storage/contract.test.ts checks both).
 *
 * - A record is "in grace" when it is a consumed RefreshToken consumed less than `reuseIntervalMs` ago: `find`
 *   presents it as unconsumed and a second `consume` is a no-op (concurrent tabs, retried requests).
 * - A consumed record outside grace is found consumed; oidc-provider then revokes the family.
 * - A `consume` of a record already consumed outside grace revokes the family and fails (two racing
 *   exchanges of one code, or of one refresh token with a reuse interval of 0: exactly one wins).
 * - After consumption a refresh token is kept only for reuse detection: for at most `detectionSeconds` and only
 *   the newest `detectionDepth` of a family, so a grant rotated thousands of times stays bounded.
 */
export interface ReusePolicy {
  /** Grace period for a just-rotated refresh token, in ms (0: strict). */
  readonly reuseIntervalMs: number;
  /** How long a consumed refresh token is remembered for reuse detection, in seconds. */
  readonly detectionSeconds: number;
  /** How many consumed refresh tokens of one family are remembered. */
  readonly detectionDepth: number;
}

export const GRANT_MEMBER_MODELS: ReadonlySet<string> = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]);

export function inGrace(model: string, consumedAtMs: number | undefined, nowMs: number, policy: ReusePolicy): boolean {
  return model === 'RefreshToken' && consumedAtMs !== undefined && policy.reuseIntervalMs > 0 && nowMs - consumedAtMs < policy.reuseIntervalMs;
}
