/**
 * What a new password must be, wherever one is set or changed (the CLI today, account pages later). NIST SP
 * 800-63B 5.1.1.2 ("memorized secrets"):
 * - at least `minLength` characters (default 12, config `passwords.minLength`), at most MAX_PASSWORD_LENGTH;
 * - not one of the commonly used passwords in config/common-passwords.txt, compared without regard to case;
 * - not the username itself;
 * - no composition rules (no "one digit, one symbol"): length and the list are what make a password hard to guess.
 *
 * Characters are counted as Unicode code points, so a passphrase in any script counts what the user typed.
 * config/common-passwords.txt and where it comes from: docs/security.md.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MAX_PASSWORD_LENGTH } from './passwords.ts';

type PasswordProblem = 'too_short' | 'too_long' | 'common' | 'same_as_username';

export class PasswordRejected extends Error {
  override name = 'PasswordRejected';
  readonly code: PasswordProblem;
  constructor(code: PasswordProblem, message: string) {
    super(message);
    this.code = code;
  }
}

interface PasswordPolicyOptions {
  readonly minLength: number;
}

const listPath = fileURLToPath(new URL('../../config/common-passwords.txt', import.meta.url));
let common: ReadonlySet<string> | undefined;

/** The shipped list, read once per process on first use. */
function commonPasswords(): ReadonlySet<string> {
  common ??= new Set(
    readFileSync(listPath, 'utf8')
      .split('\n')
      .map((line) => line.trim().toLowerCase())
      .filter(Boolean),
  );
  return common;
}

export class PasswordPolicy {
  readonly minLength: number;
  constructor(options: PasswordPolicyOptions) {
    this.minLength = options.minLength;
  }

  /** Throws PasswordRejected with a message fit to show the person choosing the password (never the password). */
  check(password: string, username?: string): void {
    const length = [...password].length;
    if (length < this.minLength)
      throw new PasswordRejected('too_short', `password must be at least ${this.minLength} characters`);
    if (password.length > MAX_PASSWORD_LENGTH)
      throw new PasswordRejected('too_long', `password must be at most ${MAX_PASSWORD_LENGTH} characters`);
    const folded = password.toLowerCase();
    if (username !== undefined && folded === username.toLowerCase()) {
      throw new PasswordRejected('same_as_username', 'password must not be the username');
    }
    if (commonPasswords().has(folded)) {
      throw new PasswordRejected(
        'common',
        'password is one of the most commonly used passwords: choose another (a few unrelated words make a good one)',
      );
    }
  }
}
