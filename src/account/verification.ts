/**
 * Email verification: an account's email is unverified (`email_verified: false` in ID tokens and userinfo,
 * src/accounts/claims.ts) until the user follows a mailed single-use link.
 *
 * Rules:
 * - The link proves one address: the token's record names the email it was sent to, and following it verifies
 *   the account only while that is still the account's email (a link sent before an email change verifies
 *   nothing).
 * - Following a link needs a POST from its page: mail scanners that fetch every link do not verify anything.
 * - Links work once (atomic consume), for VERIFY_TTL_SECONDS; at most VERIFY_PER_ACCOUNT mails per account per
 *   VERIFY_WINDOW_SECONDS (further requests send nothing).
 */
import type { Config } from '../config/types.ts';
import type { Language } from '../config/languages.ts';
import type { Account, Store } from '../storage/types.ts';
import type { Mailer } from './mail.ts';
import { hashToken, newToken } from './tokens.ts';

const VERIFY_TTL_SECONDS = 24 * 3600;
const VERIFY_PER_ACCOUNT = 3;
const VERIFY_WINDOW_SECONDS = 3600;

export interface VerificationDeps {
  config: Pick<Config, 'issuer'>;
  store: Pick<Store, 'oneTimeTokens' | 'throttle' | 'accounts'>;
  mailer: Mailer;
}

/** Mails a verification link for the account's current email. Returns false when the account's limit is reached. */
export async function sendVerification(deps: VerificationDeps, account: Account, language: Language): Promise<boolean> {
  if (!account.email) return false;
  if ((await deps.store.throttle.hit(`verify-account:${account.id}`, VERIFY_WINDOW_SECONDS)) > VERIFY_PER_ACCOUNT)
    return false;
  const { token, hash } = newToken();
  await deps.store.oneTimeTokens.put(
    hash,
    { purpose: 'verify', accountId: account.id, data: { email: account.email } },
    VERIFY_TTL_SECONDS,
  );
  await deps.mailer.send({
    to: account.email,
    name: 'verify',
    language,
    values: {
      link: new URL(`/account/verify/${token}`, deps.config.issuer).href,
      hours: String(VERIFY_TTL_SECONDS / 3600),
    },
  });
  return true;
}

/** Spends the link `token`; the account it verified, or undefined when the link is not (or no longer) good. */
export async function confirmVerification(deps: VerificationDeps, token: string): Promise<Account | undefined> {
  const record = await deps.store.oneTimeTokens.consume(hashToken(token));
  if (record?.purpose !== 'verify') return undefined;
  const account = await deps.store.accounts.findById(record.accountId);
  if (!account?.email || account.disabled || account.email.toLowerCase() !== record.data?.email?.toLowerCase())
    return undefined;
  const verified: Account = { ...account, emailVerified: true, updatedAt: Date.now() };
  await deps.store.accounts.update(verified);
  return verified;
}
