/**
 * The second factors an account holds, stored inside the account record (both stores keep it as part of the
 * account's JSON). Nothing here lets anyone sign in on its own: passkeys are public keys, the TOTP secret is sealed
 * with a key derived from the cookie keys (./secret-box.ts), recovery codes are SHA-256 hashes of random codes.
 */
export interface StoredPasskey {
  /** Credential id, base64url. */
  readonly id: string;
  /** COSE public key, base64url. */
  readonly publicKey: string;
  readonly counter: number;
  readonly transports: readonly string[];
  readonly aaguid: string;
  /** Synced (multi-device) passkeys count as software keys (`swk`), others as hardware keys (`hwk`). */
  readonly backedUp: boolean;
  readonly name: string;
  readonly createdAt: number;
  readonly lastUsedAt?: number;
}

export interface MfaRecord {
  /** A confirmed authenticator app: its sealed base32 secret. */
  readonly totp?: { readonly secret: string; readonly enabledAt: number };
  /** An authenticator app being set up, not yet confirmed with a first code. */
  readonly pendingTotp?: { readonly secret: string; readonly createdAt: number };
  /** SHA-256 (hex) of each unused recovery code. */
  readonly recoveryCodes?: readonly string[];
  readonly passkeys?: readonly StoredPasskey[];
}
