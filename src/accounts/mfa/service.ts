/**
 * Second factors of an account: authenticator apps (TOTP), recovery codes and passkeys (WebAuthn).
 *
 * Rules:
 * - TOTP follows RFC 6238 as authenticator apps expect it: SHA-1, 6 digits, 30 s. A code is accepted in its own
 *   step and one step either side (clock drift); a code two steps old is refused. Each step is claimed atomically
 *   per account in the store, so a code is used once, even by two requests at the same moment.
 * - Recovery codes: 10, shown once, stored as SHA-256 hashes; each is claimed atomically and then removed.
 * - A passkey assertion must carry user verification (so a passkey alone is multi-factor) and a counter above the
 *   stored one whenever either is non-zero (a cloned authenticator is refused by the WebAuthn library).
 * - WebAuthn challenges are stateless and signed: bytes, an expiry and an HMAC over both and what the challenge is
 *   bound to (the interaction or the session); a verified answer is claimed once in the store, so it cannot be
 *   replayed, while a failed attempt leaves the challenge usable.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import { Secret, TOTP } from 'otpauth';
import QRCode from 'qrcode';
import type { Account, AccountStore, ThrottleStore } from '../../storage/types.ts';
import type { SecretBox } from './secret-box.ts';
import type { MfaRecord, StoredPasskey } from '../../storage/mfa-record.ts';

const RECOVERY_CODE_COUNT = 10;
const CHALLENGE_TTL_MS = 5 * 60_000;
const PASSKEY_NAME_MAX = 64;

interface Factors {
  readonly totp: boolean;
  readonly passkeys: number;
  readonly recoveryCodes: number;
  /** The account has a second factor: it is always asked for one after the password. */
  readonly any: boolean;
}

export function factorsOf(account: Account): Factors {
  const m = account.mfa ?? {};
  const passkeys = m.passkeys?.length ?? 0;
  return {
    totp: m.totp !== undefined,
    passkeys,
    recoveryCodes: m.recoveryCodes?.length ?? 0,
    any: m.totp !== undefined || passkeys > 0,
  };
}

interface MfaSettings {
  readonly issuer: string;
  readonly rpId: string;
  readonly rpName: string;
}

const hashCode = (code: string) => createHash('sha256').update(code).digest('hex');
/** Recovery codes are typed by people: case, spaces and dashes do not matter. */
const normaliseRecovery = (code: string) => code.toLowerCase().replace(/[\s-]/g, '');
const RECOVERY_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

function newRecoveryCode(): string {
  const bytes = randomBytes(10);
  const chars = [...bytes].map((b) => RECOVERY_ALPHABET[b % RECOVERY_ALPHABET.length]).join('');
  return `${chars.slice(0, 5)}-${chars.slice(5)}`;
}

export class MfaError extends Error {
  override name = 'MfaError';
  readonly code: 'NOT_FOUND' | 'NO_PENDING' | 'BAD_CODE' | 'BAD_PASSKEY' | 'BAD_NAME';
  constructor(code: MfaError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

export class MfaService {
  readonly settings: MfaSettings;
  readonly origin: string;
  readonly #accounts: AccountStore;
  readonly #claims: ThrottleStore;
  readonly #box: SecretBox;
  readonly #challengeKey: Buffer;

  constructor(
    accounts: AccountStore,
    claims: ThrottleStore,
    box: SecretBox,
    challengeKey: string,
    settings: MfaSettings,
  ) {
    this.#accounts = accounts;
    this.#claims = claims;
    this.#box = box;
    this.#challengeKey = createHash('sha256').update(`gatehouse webauthn challenge\0${challengeKey}`).digest();
    this.settings = settings;
    this.origin = new URL(settings.issuer).origin;
  }

  account(accountId: string): Promise<Account | undefined> {
    return this.#accounts.findById(accountId);
  }

  async #load(accountId: string): Promise<Account> {
    const account = await this.#accounts.findById(accountId);
    if (!account) throw new MfaError('NOT_FOUND', 'no such account');
    return account;
  }

  async #save(account: Account, mfa: MfaRecord): Promise<Account> {
    const updated: Account = { ...account, mfa, updatedAt: Date.now() };
    await this.#accounts.update(updated);
    return updated;
  }

  #totp(account: Account, secret: string): TOTP {
    return new TOTP({
      issuer: this.settings.rpName,
      label: account.username,
      algorithm: 'SHA1',
      digits: 6,
      period: 30,
      secret: Secret.fromBase32(secret),
    });
  }

  // --- Authenticator app -------------------------------------------------------------------------------------

  /** Starts (or restarts) setting up an authenticator app: the secret, its otpauth:// URI and a QR code as SVG. */
  async startTotp(accountId: string): Promise<{ secret: string; uri: string; qrSvg: string }> {
    const account = await this.#load(accountId);
    const secret = new Secret({ size: 20 }).base32;
    await this.#save(account, {
      ...account.mfa,
      pendingTotp: { secret: this.#box.seal(secret), createdAt: Date.now() },
    });
    return this.#present(account, secret);
  }

  /** The pending set-up again (the page was reloaded), or undefined when none is pending. */
  async pendingTotp(accountId: string): Promise<{ secret: string; uri: string; qrSvg: string } | undefined> {
    const account = await this.#load(accountId);
    const sealed = account.mfa?.pendingTotp?.secret;
    const secret = sealed === undefined ? undefined : this.#box.open(sealed);
    return secret === undefined ? undefined : this.#present(account, secret);
  }

  async #present(account: Account, secret: string): Promise<{ secret: string; uri: string; qrSvg: string }> {
    const uri = this.#totp(account, secret).toString();
    const qrSvg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
    return { secret, uri, qrSvg };
  }

  /**
   * Confirms the pending authenticator app with a first code. Returns the new recovery codes when the account had
   * none (shown once), an empty list when it keeps its codes.
   */
  async confirmTotp(accountId: string, code: string): Promise<string[]> {
    const account = await this.#load(accountId);
    const sealed = account.mfa?.pendingTotp?.secret;
    const secret = sealed === undefined ? undefined : this.#box.open(sealed);
    if (secret === undefined) throw new MfaError('NO_PENDING', 'no authenticator app is being set up');
    if (!(await this.#checkTotp(account, secret, code))) throw new MfaError('BAD_CODE', 'the code is not valid');
    const { pendingTotp: _pending, ...rest } = account.mfa ?? {};
    const codes =
      (rest.recoveryCodes?.length ?? 0) > 0 ? [] : Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    await this.#save(account, {
      ...rest,
      totp: { secret: this.#box.seal(secret), enabledAt: Date.now() },
      ...(codes.length > 0 ? { recoveryCodes: codes.map((c) => hashCode(normaliseRecovery(c))) } : {}),
    });
    return codes;
  }

  async disableTotp(accountId: string): Promise<boolean> {
    const account = await this.#load(accountId);
    if (!account.mfa?.totp) return false;
    const { totp: _totp, pendingTotp: _pending, ...rest } = account.mfa;
    await this.#save(account, this.#withoutOrphanCodes(rest));
    return true;
  }

  /** Recovery codes only make sense next to another factor: removing the last one removes them too. */
  #withoutOrphanCodes(mfa: MfaRecord): MfaRecord {
    if (mfa.totp || (mfa.passkeys?.length ?? 0) > 0) return mfa;
    const { recoveryCodes: _codes, ...rest } = mfa;
    return rest;
  }

  /** A code from the account's authenticator app, claimed once. */
  async verifyTotp(account: Account, code: string): Promise<boolean> {
    const sealed = account.mfa?.totp?.secret;
    const secret = sealed === undefined ? undefined : this.#box.open(sealed);
    return secret !== undefined && this.#checkTotp(account, secret, code);
  }

  async #checkTotp(account: Account, secret: string, code: string): Promise<boolean> {
    const token = code.replace(/\s/g, '');
    if (!/^\d{6}$/.test(token)) return false;
    const totp = this.#totp(account, secret);
    const delta = totp.validate({ token, window: 1 });
    if (delta === null) return false;
    const step = totp.counter() + delta;
    // Claims the step for this account: the first request wins, a replay (or a concurrent twin) finds it taken.
    return (await this.#claims.hit(`mfa:totp:${account.id}:${step}`, 4 * 30)) === 1;
  }

  // --- Recovery codes ----------------------------------------------------------------------------------------

  async regenerateRecoveryCodes(accountId: string): Promise<string[]> {
    const account = await this.#load(accountId);
    if (!factorsOf(account).any) throw new MfaError('NOT_FOUND', 'recovery codes need a second factor first');
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    await this.#save(account, { ...account.mfa, recoveryCodes: codes.map((c) => hashCode(normaliseRecovery(c))) });
    return codes;
  }

  async useRecoveryCode(account: Account, code: string): Promise<boolean> {
    const normal = normaliseRecovery(code);
    if (!/^[a-z0-9]{10}$/.test(normal)) return false;
    const hash = hashCode(normal);
    const known = account.mfa?.recoveryCodes ?? [];
    if (!known.some((h) => timingSafeEqual(Buffer.from(h), Buffer.from(hash)))) return false;
    if ((await this.#claims.hit(`mfa:recovery:${account.id}:${hash}`, 86_400)) !== 1) return false;
    const fresh = await this.#load(account.id);
    await this.#save(fresh, {
      ...fresh.mfa,
      recoveryCodes: (fresh.mfa?.recoveryCodes ?? []).filter((h) => h !== hash),
    });
    return true;
  }

  // --- Passkeys ----------------------------------------------------------------------------------------------

  /**
   * A signed, expiring challenge bound to `binding` (an interaction or a session). With `until`, it is the same for
   * every page of that binding (the sign-in page renders identically whatever happened before).
   */
  #challenge(purpose: string, binding: string, until?: number): Uint8Array<ArrayBuffer> {
    const body = Buffer.alloc(24);
    const seed =
      until === undefined
        ? randomBytes(16)
        : createHmac('sha256', this.#challengeKey).update(`seed\0${purpose}\0${binding}`).digest();
    seed.copy(body, 0, 0, 16);
    body.writeBigUInt64BE(BigInt(until ?? Date.now() + CHALLENGE_TTL_MS), 16);
    const mac = createHmac('sha256', this.#challengeKey)
      .update(`${purpose}\0${binding}\0`)
      .update(body)
      .digest()
      .subarray(0, 16);
    return new Uint8Array(Buffer.concat([body, mac]));
  }

  /** Signature and expiry; the single use is claimed (#claimChallenge) once the answer verified. */
  #challengeCheck(purpose: string, binding: string): (challenge: string) => boolean {
    return (challenge) => {
      const raw = Buffer.from(challenge, 'base64url');
      if (raw.length !== 40) return false;
      const body = raw.subarray(0, 24);
      const mac = createHmac('sha256', this.#challengeKey)
        .update(`${purpose}\0${binding}\0`)
        .update(body)
        .digest()
        .subarray(0, 16);
      if (!timingSafeEqual(mac, raw.subarray(24))) return false;
      return Number(body.readBigUInt64BE(16)) >= Date.now();
    };
  }

  /** A verified answer to a challenge counts once: a replayed answer finds it claimed. */
  async #claimChallenge(clientDataJSON: string): Promise<boolean> {
    const { challenge } = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8')) as {
      challenge: string;
    };
    return (await this.#claims.hit(`mfa:challenge:${hashCode(challenge)}`, 86_400)) === 1;
  }

  async registrationOptions(accountId: string, binding: string): Promise<object> {
    const account = await this.#load(accountId);
    return generateRegistrationOptions({
      rpName: this.settings.rpName,
      rpID: this.settings.rpId,
      userName: account.username,
      userDisplayName: account.name ?? account.username,
      userID: new TextEncoder().encode(account.id),
      challenge: this.#challenge('register', binding),
      attestationType: 'none',
      excludeCredentials: (account.mfa?.passkeys ?? []).map((p) => ({ id: p.id, transports: [...p.transports] })),
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
    });
  }

  async registerPasskey(accountId: string, binding: string, response: unknown, name: string): Promise<StoredPasskey> {
    const label = name.trim().slice(0, PASSKEY_NAME_MAX);
    let verified: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
    try {
      verified = await verifyRegistrationResponse({
        response: response as RegistrationResponseJSON,
        expectedChallenge: this.#challengeCheck('register', binding),
        expectedOrigin: this.origin,
        expectedRPID: this.settings.rpId,
        requireUserVerification: true,
      });
    } catch {
      throw new MfaError('BAD_PASSKEY', 'the passkey could not be registered');
    }
    if (
      !verified.verified ||
      !verified.registrationInfo ||
      !(await this.#claimChallenge((response as RegistrationResponseJSON).response.clientDataJSON))
    ) {
      throw new MfaError('BAD_PASSKEY', 'the passkey could not be registered');
    }
    const { credential, aaguid, credentialBackedUp } = verified.registrationInfo;
    const account = await this.#load(accountId);
    const existing = account.mfa?.passkeys ?? [];
    if (existing.some((p) => p.id === credential.id))
      throw new MfaError('BAD_PASSKEY', 'this passkey is already registered');
    const passkey: StoredPasskey = {
      id: credential.id,
      publicKey: Buffer.from(credential.publicKey).toString('base64url'),
      counter: credential.counter,
      transports: credential.transports ?? [],
      aaguid,
      backedUp: credentialBackedUp,
      name: label || `Passkey ${existing.length + 1}`,
      createdAt: Date.now(),
    };
    await this.#save(account, { ...account.mfa, passkeys: [...existing, passkey] });
    return passkey;
  }

  async renamePasskey(accountId: string, id: string, name: string): Promise<void> {
    const label = name.trim().slice(0, PASSKEY_NAME_MAX);
    if (!label) throw new MfaError('BAD_NAME', 'a passkey needs a name');
    const account = await this.#load(accountId);
    const passkeys = account.mfa?.passkeys ?? [];
    if (!passkeys.some((p) => p.id === id)) throw new MfaError('NOT_FOUND', 'no such passkey');
    await this.#save(account, {
      ...account.mfa,
      passkeys: passkeys.map((p) => (p.id === id ? { ...p, name: label } : p)),
    });
  }

  async removePasskey(accountId: string, id: string): Promise<boolean> {
    const account = await this.#load(accountId);
    const passkeys = account.mfa?.passkeys ?? [];
    if (!passkeys.some((p) => p.id === id)) return false;
    await this.#save(
      account,
      this.#withoutOrphanCodes({ ...account.mfa, passkeys: passkeys.filter((p) => p.id !== id) }),
    );
    return true;
  }

  /**
   * Options for a passkey sign-in in interaction `binding` (valid until `until`, ms): discoverable credentials (no
   * allow list), user verification required.
   */
  authenticationOptions(binding: string, until: number): Promise<object> {
    return generateAuthenticationOptions({
      rpID: this.settings.rpId,
      challenge: this.#challenge('authenticate', binding, until),
      userVerification: 'required',
    });
  }

  /**
   * Verifies a passkey assertion; returns the account and whether the key is synced (`swk`) or device-bound
   * (`hwk`). Undefined for every failure (unknown credential, bad signature, stale counter, replayed challenge).
   */
  async authenticatePasskey(
    binding: string,
    response: unknown,
  ): Promise<{ account: Account; passkey: StoredPasskey } | undefined> {
    const r = response as AuthenticationResponseJSON;
    const userHandle =
      typeof r?.response?.userHandle === 'string'
        ? Buffer.from(r.response.userHandle, 'base64url').toString('utf8')
        : '';
    if (!/^[0-9a-f-]{36}$/.test(userHandle) || typeof r.id !== 'string') return undefined;
    const account = await this.#accounts.findById(userHandle);
    const passkey = account?.mfa?.passkeys?.find((p) => p.id === r.id);
    if (!account || !passkey || account.disabled) return undefined;
    let info: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
    try {
      info = await verifyAuthenticationResponse({
        response: r,
        expectedChallenge: this.#challengeCheck('authenticate', binding),
        expectedOrigin: this.origin,
        expectedRPID: this.settings.rpId,
        credential: {
          id: passkey.id,
          publicKey: new Uint8Array(Buffer.from(passkey.publicKey, 'base64url')),
          counter: passkey.counter,
          transports: [...passkey.transports] as never,
        },
        requireUserVerification: true,
      });
    } catch {
      return undefined;
    }
    if (
      !info.verified ||
      !info.authenticationInfo.userVerified ||
      !(await this.#claimChallenge(r.response.clientDataJSON))
    )
      return undefined;
    const used: StoredPasskey = {
      ...passkey,
      counter: info.authenticationInfo.newCounter,
      backedUp: info.authenticationInfo.credentialBackedUp,
      lastUsedAt: Date.now(),
    };
    const fresh = await this.#load(account.id);
    await this.#save(fresh, {
      ...fresh.mfa,
      passkeys: (fresh.mfa?.passkeys ?? []).map((p) => (p.id === used.id ? used : p)),
    });
    return { account: fresh, passkey: used };
  }

  /** Admin recovery: removes every second factor of the account. */
  async reset(accountId: string): Promise<void> {
    const account = await this.#load(accountId);
    const { mfa: _mfa, ...rest } = account;
    await this.#accounts.update({ ...rest, updatedAt: Date.now() });
  }
}
