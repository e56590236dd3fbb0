/**
 * The sign-in form's limits, over real HTTP: a locked IP is answered at once — no password hashed, nothing counted
 * towards the usernames it tries, so the owner still signs in from elsewhere (memory store and Redis); IPv6
 * addresses are locked by /64; a full hashing queue answers 503 with Retry-After without hashing; a sign-in whose
 * client went away while it waited is never hashed; a password over 1,024 characters is refused before hashing;
 * passwords are NFC-normalised, and hashes of the raw form from before still verify and are replaced.
 * Hashing work is read from the process's hashing pool (these tests run in the server's process), so these tests
 * run one at a time.
 */
import test from 'ava';
import argon2 from 'argon2';
import { hashingPool } from '../../src/accounts/hashing-pool.ts';
import { startGatehouse } from '../helpers/gatehouse.ts';
import { startRedis } from '../helpers/redis.ts';
import { CLIENTS } from './fixtures.ts';
import { openLoginPage } from './login-client.ts';

const LONG_LOCKS = {
  trustProxy: true,
  clients: CLIENTS,
  'loginThrottle.windowSeconds': 600,
  'loginThrottle.maxFailures': 5,
  'loginThrottle.ipMaxFailures': 3,
  'loginThrottle.lockBaseSeconds': 600,
  'loginThrottle.lockCapSeconds': 600,
};

/** Lets the server make progress before a condition is looked at again. */
const tick = () => new Promise((r) => setTimeout(r, 5));

const reasons = (logs: Array<Record<string, unknown>>) =>
  logs.filter((l) => l.audit === 'login.failure').map((l) => String(l.reason));

for (const store of ['memory', 'redis'] as const) {
  test.serial(
    `${store}: a locked IP is answered without hashing and without locking the accounts it tries`,
    async (t) => {
      const redis = store === 'redis' ? await startRedis(t) : undefined;
      const gh = await startGatehouse(t, {
        ...LONG_LOCKS,
        ...(redis ? { 'redis.url': redis.url, 'demo.seed': false } : {}),
      });
      if (redis) await gh.gatehouse.accounts.create({ username: 'demo', password: 'demo-password' });
      const attacker = await openLoginPage(gh.issuer, 'client-a', undefined, '10.5.0.1');
      for (let i = 0; i < 3; i++) t.is((await attacker.attempt(`someone-${i}`, `guess-${i}`, '10.5.0.1')).status, 401);
      t.true(
        gh.logs.some((l) => l.audit === 'login.locked' && l.kind === 'ip'),
        'the IP is locked',
      );

      const hashed = hashingPool().accepted;
      const pages = new Set<string>();
      for (const username of ['demo', 'no-such-user']) {
        for (let i = 0; i < 10; i++) {
          const r = await attacker.attempt(username, `guess-${i}`, '10.5.0.1');
          t.is(r.status, 401);
          pages.add(r.html.replace(/nonce-[^'"]+|nonce="[^"]+"|value="[^"]*"/g, ''));
        }
      }
      t.is(hashingPool().accepted, hashed, 'no password was hashed for the locked IP');
      t.is(pages.size, 1, 'the same answer for a known and an unknown user');
      t.is(reasons(gh.logs).filter((r) => r === 'throttled').length, 20);
      t.false(
        gh.logs.some((l) => l.audit === 'login.locked' && l.kind === 'user'),
        'no username was locked by the locked IP',
      );

      const owner = await openLoginPage(gh.issuer, 'client-a', undefined, '10.6.0.1');
      t.is(
        (await owner.attempt('demo', 'demo-password', '10.6.0.1')).status,
        303,
        'the owner signs in from another address',
      );
    },
  );
}

test.serial('IPv6 clients are locked by /64', async (t) => {
  const gh = await startGatehouse(t, LONG_LOCKS);
  const page = await openLoginPage(gh.issuer, 'client-a', undefined, '2001:db8:7:7::1');
  for (let i = 0; i < 3; i++)
    t.is((await page.attempt(`someone-${i}`, `guess-${i}`, `2001:db8:7:7::${i + 1}`)).status, 401);
  t.is(
    (await page.attempt('demo', 'demo-password', '2001:db8:7:7:ffff::9')).status,
    401,
    'another address of the same /64 is locked',
  );
  t.is(reasons(gh.logs).at(-1), 'throttled');
  t.is((await page.attempt('demo', 'demo-password', '2001:db8:7:8::1')).status, 303, 'the next /64 is not');
});

test.serial('a password over 1,024 characters is refused with 400 before it is hashed', async (t) => {
  const gh = await startGatehouse(t, { clients: CLIENTS });
  const page = await openLoginPage(gh.issuer);
  const hashed = hashingPool().accepted;
  const r = await page.attempt('demo', 'x'.repeat(1025));
  t.is(r.status, 400);
  t.regex(r.html, /at most 1024 characters/);
  t.is(hashingPool().accepted, hashed);
  t.is((await page.attempt('demo', 'demo-password')).status, 303, 'the form still works');
});

// Slow hashing (64 MiB, 3 passes) so that requests sent together really do wait for each other.
const SLOW = { 'argon2.memoryCost': 65_536, 'argon2.timeCost': 3, 'argon2.maxQueuedPerThread': 1 };
/** Slow hashing, and throttle limits no test here reaches: only the hashing queue refuses. */
const SLOW_UNTHROTTLED = {
  clients: CLIENTS,
  trustProxy: true,
  'loginThrottle.maxFailures': 1000,
  'loginThrottle.ipMaxFailures': 1000,
  ...SLOW,
};

test.serial('a full hashing queue answers 503 with Retry-After, without hashing', async (t) => {
  const gh = await startGatehouse(t, SLOW_UNTHROTTLED);
  const page = await openLoginPage(gh.issuer);
  const burst = 30;
  const hashed = hashingPool().accepted;
  const answers = await Promise.all(
    Array.from({ length: burst }, (_, i) => page.attempt('demo', `guess-${i}`, `10.7.0.${i}`)),
  );
  const statuses = answers.map((a) => a.status);
  const busy = statuses.filter((s) => s === 503).length;
  t.true(busy > 0, `statuses ${statuses.join(',')}`);
  t.true(
    answers.every((a) => a.status !== 503 || /^[1-9]\d*$/.test(String(a.retryAfter))),
    'Retry-After on every 503',
  );
  t.true(
    statuses.every((s) => s === 401 || s === 503),
    statuses.join(','),
  );
  t.is(hashingPool().accepted - hashed, burst - busy, 'only the accepted sign-ins were hashed');
  t.true(gh.logs.filter((l) => l.audit === 'login.busy').length === busy);
  t.deepEqual(
    gh.logs.filter((l) => Number(l.level) >= 50),
    [],
    'nothing logged as an error',
  );
});

test.serial('a sign-in whose client went away while waiting is dropped from the queue, never hashed', async (t) => {
  const gh = await startGatehouse(t, {
    ...SLOW_UNTHROTTLED,
    'argon2.maxQueuedPerThread': 100,
  });
  const page = await openLoginPage(gh.issuer);
  const pool = hashingPool();
  // Keep every thread busy and some waiting, so the next sign-in has to queue.
  const ahead = Array.from({ length: 6 }, (_, i) => page.attempt('demo', `ahead-${i}`, `10.8.0.${i}`));
  while (pool.queued < 6 - (await pool.threadIds()).length) await tick();
  const queuedBefore = pool.queued;

  // Another sign-in, abandoned by its client once it waits in the queue.
  const controller = new AbortController();
  const abandoned = page.attempt('abandoned-user', 'abandoned-guess', '10.8.1.1', controller.signal);
  while (pool.queued <= queuedBefore) await tick();
  const accepted = pool.accepted;
  controller.abort();
  await t.throwsAsync(abandoned);
  while (pool.queued > queuedBefore) await tick();
  t.is(pool.queued, queuedBefore, 'the abandoned sign-in left the queue');
  const results = await Promise.all(ahead);
  t.true(results.every((r) => r.status === 401));
  // Wait for the server to finish the abandoned request too (its access-log line), then look at what it did.
  const logins = () =>
    gh.logs.filter((l) => l.msg === 'request' && l.method === 'POST' && String(l.path).endsWith('/login'));
  while (logins().length < ahead.length + 1) await tick();
  t.is(
    logins().filter((l) => l.status === 401).length,
    ahead.length,
    'only the sign-ins that waited were answered as checked',
  );
  t.is(pool.accepted, accepted, 'nothing else was queued');
  t.is(
    await gh.gatehouse.store.throttle.count('login:user:abandoned-user'),
    0,
    'the abandoned attempt was never checked nor counted',
  );
});

const PASSWORD = 'Zoë-café-pässword';

test.serial(
  'passwords are NFC-normalised: set in one Unicode form, the password signs in typed in the other',
  async (t) => {
    const gh = await startGatehouse(t, { clients: CLIENTS });
    await gh.gatehouse.accounts.create({ username: 'zoe', password: PASSWORD.normalize('NFC') });
    t.not(PASSWORD.normalize('NFD'), PASSWORD.normalize('NFC'));
    const page = await openLoginPage(gh.issuer);
    t.is((await page.attempt('zoe', PASSWORD.normalize('NFD'))).status, 303);
  },
);

test.serial(
  'a hash made from a non-NFC password (before normalisation) still verifies, and is replaced by the NFC hash',
  async (t) => {
    const gh = await startGatehouse(t, { clients: CLIENTS });
    const raw = PASSWORD.normalize('NFD');
    const { store } = gh.gatehouse;
    const account = await gh.gatehouse.accounts.create({ username: 'legacy', password: 'placeholder-password' });
    // The hash an older Gatehouse stored: argon2id of the password as typed, same parameters as today.
    const legacy = await argon2.hash(raw, { type: argon2.argon2id, memoryCost: 1024, timeCost: 1, parallelism: 1 });
    await store.accounts.update({ ...account, passwordHash: legacy });

    const page = await openLoginPage(gh.issuer);
    t.is((await page.attempt('legacy', raw)).status, 303, 'the old hash verifies');
    const rehashed = (await store.accounts.findByUsername('legacy'))?.passwordHash as string;
    t.not(rehashed, legacy, 'the hash was replaced on sign-in');
    t.true(await argon2.verify(rehashed, PASSWORD.normalize('NFC')), 'the new hash is of the NFC form');
    t.is(
      (await (await openLoginPage(gh.issuer)).attempt('legacy', PASSWORD.normalize('NFC'))).status,
      303,
      'now either form signs in',
    );
  },
);
