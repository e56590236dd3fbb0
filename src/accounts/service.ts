/**
 * Accounts: creating users, checking passwords and turning an account into OIDC claims.
 *
 * Rules:
 * - Authentication answers the same (`undefined`) for an unknown user, a wrong password and a disabled account,
 *   and spends one argon2 verify in every case, so neither the answer nor its timing tells them apart.
 * - A successful login with a hash made under older parameters re-hashes the password.
 * - Usernames are case-insensitive for lookup and limited to a safe character set.
 * - Every password set or changed passes the password policy (./password-policy.ts).
 */
import { randomUUID } from 'node:crypto';
import { type Account, type AccountStore, StorageConflict } from '../storage/types.ts';
import { PasswordRejected, type PasswordPolicy } from './password-policy.ts';
import type { PasswordHasher } from './passwords.ts';

export const USERNAME_PATTERN = /^[A-Za-z0-9._@+-]{1,64}$/;

type AuthFailure = 'unknown' | 'bad_password' | 'disabled';

interface NewAccount {
  username: string;
  password: string;
  email?: string;
  name?: string;
  roles?: string[];
  /** Optional profile claims (OIDC Core 5.1), e.g. for the demo user. */
  emailVerified?: boolean;
  givenName?: string;
  familyName?: string;
  phoneNumber?: string;
  address?: Account['address'];
}

export class AccountError extends Error {
  override name = 'AccountError';
  readonly code: 'INVALID_USERNAME' | 'INVALID_PASSWORD' | 'USERNAME_TAKEN' | 'NOT_FOUND';
  constructor(code: AccountError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

/** Profile fields an operator may change; `null` removes the field. */
interface ProfileChanges {
  email?: string | null;
  name?: string | null;
  roles?: string[];
}

export class AccountService {
  private readonly store: AccountStore;
  private readonly hasher: PasswordHasher;
  private readonly policy: PasswordPolicy;
  constructor(store: AccountStore, hasher: PasswordHasher, policy: PasswordPolicy) {
    this.store = store;
    this.hasher = hasher;
    this.policy = policy;
  }

  private checkPassword(password: string, username: string): void {
    try {
      this.policy.check(password, username);
    } catch (err) {
      if (err instanceof PasswordRejected) throw new AccountError('INVALID_PASSWORD', err.message);
      throw err;
    }
  }

  async create(input: NewAccount): Promise<Account> {
    if (!USERNAME_PATTERN.test(input.username)) {
      throw new AccountError('INVALID_USERNAME', 'username must be 1-64 characters of letters, digits and . _ @ + -');
    }
    this.checkPassword(input.password, input.username);
    const now = Date.now();
    const account: Account = {
      id: randomUUID(),
      username: input.username,
      passwordHash: await this.hasher.hash(input.password),
      ...(input.email ? { email: input.email, emailVerified: input.emailVerified ?? false } : {}),
      ...(input.name ? { name: input.name } : {}),
      ...(input.givenName ? { givenName: input.givenName } : {}),
      ...(input.familyName ? { familyName: input.familyName } : {}),
      ...(input.phoneNumber ? { phoneNumber: input.phoneNumber } : {}),
      ...(input.address ? { address: input.address } : {}),
      roles: input.roles ?? [],
      disabled: false,
      createdAt: now,
      updatedAt: now,
    };
    try {
      await this.store.create(account);
    } catch (err) {
      if (err instanceof StorageConflict)
        throw new AccountError('USERNAME_TAKEN', `username ${input.username} is taken`);
      throw err;
    }
    return account;
  }

  async setPassword(username: string, password: string): Promise<void> {
    this.checkPassword(password, username);
    const account = await this.require(username);
    await this.store.update({ ...account, passwordHash: await this.hasher.hash(password), updatedAt: Date.now() });
  }

  /** A changed email is no longer verified. */
  async updateProfile(username: string, changes: ProfileChanges): Promise<Account> {
    const account = await this.require(username);
    const { email: _email, emailVerified: _verified, name: _name, ...rest } = account;
    const email = changes.email === undefined ? account.email : (changes.email ?? undefined);
    const name = changes.name === undefined ? account.name : (changes.name ?? undefined);
    const updated: Account = {
      ...rest,
      ...(email ? { email, emailVerified: email === account.email ? (account.emailVerified ?? false) : false } : {}),
      ...(name ? { name } : {}),
      roles: changes.roles ?? account.roles,
      updatedAt: Date.now(),
    };
    await this.store.update(updated);
    return updated;
  }

  /** The account named `username`; AccountError NOT_FOUND when there is none. */
  find(username: string): Promise<Account> {
    return this.require(username);
  }

  async setDisabled(username: string, disabled: boolean): Promise<void> {
    const account = await this.require(username);
    await this.store.update({ ...account, disabled, updatedAt: Date.now() });
  }

  /** Admin recovery: removes every second factor of the account (docs/mfa.md). Returns the account as it was. */
  async clearSecondFactors(username: string): Promise<Account> {
    const account = await this.require(username);
    const { mfa: _mfa, ...rest } = account;
    await this.store.update({ ...rest, updatedAt: Date.now() });
    return account;
  }

  async remove(username: string): Promise<void> {
    const account = await this.require(username);
    await this.store.remove(account.id);
  }

  list(): Promise<Account[]> {
    return this.store.list();
  }

  findById(id: string): Promise<Account | undefined> {
    return this.store.findById(id);
  }

  private async require(username: string): Promise<Account> {
    const account = await this.store.findByUsername(username);
    if (!account) throw new AccountError('NOT_FOUND', `no user ${username}`);
    return account;
  }

  /** Returns the account on success; on failure the reason is for audit logs only, never for the user. */
  async authenticate(username: string, password: string): Promise<{ account?: Account; failure?: AuthFailure }> {
    return this.verify(await this.lookup(username), password);
  }

  /** The account a sign-in form names, if any (no password check: pair it with `verify`). */
  lookup(username: string): Promise<Account | undefined> {
    return USERNAME_PATTERN.test(username) ? this.store.findByUsername(username) : Promise.resolve(undefined);
  }

  /**
   * The password check for an account from `lookup` (undefined: unknown user, or one the caller will not let
   * in): always the same argon2 work for the same password, so the outcome cannot be told apart by timing.
   * Fails with HashingBusy / HashingAborted (src/accounts/hashing-pool.ts) when the check could not be made.
   */
  async verify(
    account: Account | undefined,
    password: string,
    signal?: AbortSignal,
  ): Promise<{ account?: Account; failure?: AuthFailure }> {
    if (!account) {
      await this.hasher.verifyDummy(password, signal);
      return { failure: 'unknown' };
    }
    const { ok, rehash } = await this.hasher.verify(account.passwordHash, password, signal);
    if (!ok) return { failure: 'bad_password' };
    if (account.disabled) return { failure: 'disabled' };
    if (rehash) {
      await this.store.update({ ...account, passwordHash: await this.hasher.hash(password), updatedAt: Date.now() });
    }
    return { account };
  }
}
