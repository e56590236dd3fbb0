/**
 * Keeps the email index (src/storage/account-records.ts EmailIndexStore) in step with the accounts: every
 * account write goes through the store's `accounts`, so wrapping them catches the server, the CLI and the demo
 * seed alike.
 *
 * Rules:
 * - An account's email is claimed when it is created or set; the old address is released when it changes or the
 *   account is removed. An address already claimed by another account stays with that one (reset by email finds
 *   the first account; by username, any).
 * - `findByEmail` checks the account record: the index is a pointer, never the truth.
 */
import type { Account, AccountStore, Store } from '../storage/types.ts';
import { foldEmail } from '../storage/account-records.ts';

export function withEmailIndex<S extends Store>(inner: S): S {
  const index = inner.emailIndex;
  const base = inner.accounts;
  const accounts: AccountStore = {
    findById: (id) => base.findById(id),
    findByUsername: (username) => base.findByUsername(username),
    list: () => base.list(),
    async create(account) {
      await base.create(account);
      if (account.email) await index.claim(account.email, account.id);
    },
    async update(account) {
      const before = await base.findById(account.id);
      await base.update(account);
      const was = before?.email && foldEmail(before.email);
      const now = account.email && foldEmail(account.email);
      if (was && was !== now) await index.release(was, account.id);
      if (account.email) await index.claim(account.email, account.id);
    },
    async remove(id) {
      const before = await base.findById(id);
      const removed = await base.remove(id);
      if (before?.email) await index.release(before.email, id);
      return removed;
    },
  };
  const wrapper = Object.create(inner) as S;
  Object.defineProperty(wrapper, 'accounts', { value: accounts, enumerable: true });
  return wrapper;
}

/** Account ids are UUIDs: this one names no account. */
const NO_ACCOUNT = 'no-account';

/**
 * The account whose email is `email` (case-insensitive), through the index. Known or not, it makes the same two
 * reads (a miss reads an id that names no account), so its work does not tell them apart.
 */
export async function findByEmail(
  store: Pick<Store, 'emailIndex' | 'accounts'>,
  email: string,
): Promise<Account | undefined> {
  const id = await store.emailIndex.find(email);
  const account = await store.accounts.findById(id ?? NO_ACCOUNT);
  return account?.email && foldEmail(account.email) === foldEmail(email) ? account : undefined;
}
