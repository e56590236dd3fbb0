import test from 'ava';
import { PasswordPolicy } from '../../src/accounts/password-policy.ts';
import { createPasswordHasher } from '../../src/accounts/passwords.ts';
import { AccountService } from '../../src/accounts/service.ts';
import { MemoryStore } from '../../src/storage/memory-store.ts';

const reuse = { reuseIntervalMs: 0 };
const light = { memoryCost: 1024, timeCost: 1, parallelism: 1 };
const policy = new PasswordPolicy({ minLength: 12 });

async function service(params = light) {
  const store = new MemoryStore({ reuse });
  return { store, accounts: new AccountService(store.accounts, await createPasswordHasher(params), policy) };
}

test('hashes are argon2id with the configured parameters and never the password', async (t) => {
  const { accounts, store } = await service();
  const account = await accounts.create({ username: 'carol', password: 'a good password' });
  t.regex(account.passwordHash, /^\$argon2id\$v=19\$m=1024,p=1,t=1\$/);
  t.false(JSON.stringify(await store.accounts.findById(account.id)).includes('a good password'));
  const defaults = await createPasswordHasher({ memoryCost: 19456, timeCost: 2, parallelism: 1 });
  t.regex(await defaults.hash('x'.repeat(10)), /^\$argon2id\$v=19\$m=19456,p=1,t=2\$/, 'OWASP defaults');
});

test('usernames and passwords are validated', async (t) => {
  const { accounts } = await service();
  await t.throwsAsync(accounts.create({ username: 'has space', password: 'long enough!' }), {
    code: 'INVALID_USERNAME',
  } as never);
  await t.throwsAsync(accounts.create({ username: '', password: 'long enough!' }), {
    code: 'INVALID_USERNAME',
  } as never);
  await t.throwsAsync(accounts.create({ username: 'dave', password: 'short' }), { code: 'INVALID_PASSWORD' } as never);
  await t.throwsAsync(accounts.create({ username: 'dave', password: 'eleven char' }), {
    code: 'INVALID_PASSWORD',
    message: 'password must be at least 12 characters',
  } as never);
  await t.throwsAsync(accounts.create({ username: 'dave', password: 'x'.repeat(1025) }), {
    code: 'INVALID_PASSWORD',
  } as never);
  await accounts.create({ username: 'Dave', password: 'long enough!' });
  await t.throwsAsync(accounts.create({ username: 'dave', password: 'long enough!' }), {
    code: 'USERNAME_TAKEN',
  } as never);
});

test('unknown user, wrong password and disabled account all fail without an account; the reason is internal', async (t) => {
  const { accounts } = await service();
  await accounts.create({ username: 'erin', password: 'right password' });
  t.deepEqual(await accounts.authenticate('nobody', 'whatever1'), { failure: 'unknown' });
  t.deepEqual(await accounts.authenticate('erin', 'wrong password'), { failure: 'bad_password' });
  t.is(
    (await accounts.authenticate('ERIN', 'right password')).account?.username,
    'erin',
    'usernames are case-insensitive',
  );
  await accounts.setDisabled('erin', true);
  t.deepEqual(await accounts.authenticate('erin', 'right password'), { failure: 'disabled' });
  t.deepEqual(await accounts.authenticate('bad name!', 'x'), { failure: 'unknown' });
});

test('a successful login re-hashes a password made with older parameters', async (t) => {
  const { store, accounts: old } = await service({ memoryCost: 1024, timeCost: 1, parallelism: 1 });
  const account = await old.create({ username: 'frank', password: 'frank password' });
  const upgraded = new AccountService(
    store.accounts,
    await createPasswordHasher({ memoryCost: 2048, timeCost: 2, parallelism: 1 }),
    policy,
  );
  t.truthy((await upgraded.authenticate('frank', 'wrong one')).failure);
  t.is((await store.accounts.findById(account.id))?.passwordHash, account.passwordHash, 'no re-hash on failure');
  t.truthy((await upgraded.authenticate('frank', 'frank password')).account);
  const after = await store.accounts.findById(account.id);
  t.regex(after?.passwordHash ?? '', /m=2048,p=1,t=2/);
  t.truthy((await upgraded.authenticate('frank', 'frank password')).account, 'the new hash verifies');
});

test('lookup then verify (the sign-in route reads the account with the throttle counters): exactly one argon2 verify per attempt, whatever the outcome', async (t) => {
  const store = new MemoryStore({ reuse });
  const real = await createPasswordHasher(light);
  const spent: string[] = [];
  // The real hasher, counting which of its checks ran.
  const hasher = {
    hash: (p: string) => real.hash(p),
    verify: (h: string, p: string) => {
      spent.push('verify');
      return real.verify(h, p);
    },
    verifyDummy: (p: string) => {
      spent.push('dummy');
      return real.verifyDummy(p);
    },
  };
  const accounts = new AccountService(store.accounts, hasher, policy);
  await accounts.create({ username: 'gina', password: 'gina password' });
  const found = await accounts.lookup('GINA');
  t.is(found?.username, 'gina', 'lookup is case-insensitive');
  t.deepEqual(spent, [], 'lookup checks no password');
  t.is(await accounts.lookup('no such'), undefined, 'a malformed username is not looked up');
  t.is((await accounts.verify(found, 'gina password')).account?.username, 'gina');
  t.deepEqual(await accounts.verify(found, 'wrong password'), { failure: 'bad_password' });
  // A refused attempt (throttled, or no such user) passes no account: it still spends one verify, a dummy one.
  t.deepEqual(await accounts.verify(undefined, 'gina password'), { failure: 'unknown' });
  t.deepEqual(spent, ['verify', 'verify', 'dummy']);
});
