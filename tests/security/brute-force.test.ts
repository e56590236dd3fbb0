/**
 * Login brute force: 50 wrong passwords from one IP, then from 50 IPs. The throttle engages (only the first
 * `maxFailures` passwords are actually checked), the lock is bounded, the right user signs in from another IP
 * once the (test-sized) lock has passed, and other users are not slowed down meanwhile.
 */
import test from 'ava';
import { startGatehouse } from '../helpers/gatehouse.ts';
import { startRedis } from '../helpers/redis.ts';
import { basic, CLIENTS, FORM, SECRET_A } from './fixtures.ts';
import { openLoginPage } from './login-client.ts';

/**
 * The lock must outlast the 45 attempts sent after it engages, or some of them would be checked again: 5 s leaves a
 * wide margin on a loaded 2-core machine, where those attempts can take over a second.
 */
const LOCK_SECONDS = 5;
const THROTTLE = {
  trustProxy: true,
  clients: CLIENTS,
  'loginThrottle.windowSeconds': 2,
  'loginThrottle.maxFailures': 5,
  'loginThrottle.ipMaxFailures': 20,
  'loginThrottle.lockBaseSeconds': LOCK_SECONDS,
  'loginThrottle.lockCapSeconds': LOCK_SECONDS,
};

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function setup(t: import('ava').ExecutionContext) {
  const gh = await startGatehouse(t, THROTTLE);
  await gh.gatehouse.accounts.create({ username: 'bob', password: 'bob-password-123' });
  return gh;
}

/** The status of a sign-in as `username` on a fresh sign-in page opened from `ip` (303: signed in). */
async function signInFrom(issuer: string, username: string, password: string, ip: string): Promise<number> {
  const page = await openLoginPage(issuer, 'client-a', undefined, ip);
  return (await page.attempt(username, password, ip)).status;
}

function reasons(logs: Array<Record<string, unknown>>): string[] {
  return logs.filter((l) => l.audit === 'login.failure').map((l) => String(l.reason));
}

test('50 wrong passwords from one IP: the throttle engages, the lock is bounded, the right user signs in from another IP after it', async (t) => {
  const gh = await setup(t);
  const attacker = await openLoginPage(gh.issuer);
  const bodies = new Set<string>();
  for (let i = 0; i < 50; i++) {
    const r = await attacker.attempt('demo', `guess-${i}`, '10.1.1.1');
    t.is(r.status, 401);
    bodies.add(r.html.replace(/nonce-[^'"]+|nonce="[^"]+"|Request id: [\w-]+/g, ''));
  }
  t.is(bodies.size, 1, 'every refusal is the same page, locked or not');
  const why = reasons(gh.logs);
  t.is(why.filter((r) => r === 'bad_password').length, 5, 'only maxFailures passwords were checked');
  t.true(why.includes('locked') && why.includes('throttled'), why.join(','));
  t.true(gh.logs.some((l) => l.audit === 'login.locked' && l.kind === 'user'));
  t.true(gh.logs.some((l) => l.audit === 'login.locked' && l.kind === 'ip'));

  // During the lock even the right password is refused — from the attacking IP and for the attacked user.
  t.is((await attacker.attempt('demo', 'demo-password', '10.1.1.1')).status, 401);
  // Nothing else slows down: another user signs in from another IP at once.
  t.is(await signInFrom(gh.issuer, 'bob', 'bob-password-123', '10.3.3.3'), 303);

  await pause(LOCK_SECONDS * 1000 + 100); // lockCapSeconds: the lock is bounded
  t.is(await signInFrom(gh.issuer, 'demo', 'demo-password', '10.2.2.2'), 303, 'the real user signs in after the lock');
});

test('50 wrong passwords from 50 IPs: the per-user lock engages (no IP reaches its limit); the user signs in after it', async (t) => {
  const gh = await setup(t);
  const attacker = await openLoginPage(gh.issuer);
  for (let i = 0; i < 50; i++) t.is((await attacker.attempt('demo', `guess-${i}`, `10.9.${i >> 4}.${i}`)).status, 401);
  const why = reasons(gh.logs);
  t.is(why.filter((r) => r === 'bad_password').length, 5);
  t.is(why.filter((r) => r === 'locked').length, 45);
  t.false(gh.logs.some((l) => l.audit === 'login.locked' && l.kind === 'ip'));
  t.is(
    (await attacker.attempt('demo', 'demo-password', '10.8.8.8')).status,
    401,
    'locked for everyone, for a bounded time',
  );
  t.is(await signInFrom(gh.issuer, 'bob', 'bob-password-123', '10.3.3.4'), 303);

  await pause(LOCK_SECONDS * 1000 + 100);
  t.is(await signInFrom(gh.issuer, 'demo', 'demo-password', '10.2.2.3'), 303);
});

test('unknown usernames are counted and locked like known ones; a success clears the user count', async (t) => {
  const gh = await setup(t);
  const page = await openLoginPage(gh.issuer);
  for (let i = 0; i < 7; i++) t.is((await page.attempt('nobody-here', `guess-${i}`, `10.7.0.${i}`)).status, 401);
  const why = reasons(gh.logs);
  t.is(why.filter((r) => r === 'unknown').length, 5);
  t.is(why.filter((r) => r === 'locked').length, 2);

  // bob fails 4 times (one short of the lock), signs in, and then may fail 4 more times without being locked.
  const bobPage = await openLoginPage(gh.issuer);
  for (let i = 0; i < 4; i++) await bobPage.attempt('bob', `nope-${i}`, `10.6.0.${i}`);
  t.is((await bobPage.attempt('bob', 'bob-password-123', '10.6.1.1')).status, 303);
  const again = await openLoginPage(gh.issuer);
  for (let i = 0; i < 4; i++) await again.attempt('bob', `nope-${i}`, `10.6.2.${i}`);
  t.is((await again.attempt('bob', 'bob-password-123', '10.6.3.1')).status, 303);
});

test('on Redis, every instance sees the same counts: failures and rate limits add up across instances', async (t) => {
  const redis = await startRedis(t);
  const common = {
    ...THROTTLE,
    'redis.url': redis.url,
    'demo.seed': false,
    'loginThrottle.windowSeconds': 60,
    'loginThrottle.lockCapSeconds': 60,
    'rateLimit.perClient': 3,
    'rateLimit.windowSeconds': 3600,
  };
  const one = await startGatehouse(t, common);
  const two = await startGatehouse(t, common);
  await one.gatehouse.accounts.create({ username: 'carol', password: 'carol-password-1' });
  const p1 = await openLoginPage(one.issuer);
  const p2 = await openLoginPage(two.issuer);
  for (let i = 0; i < 3; i++) t.is((await p1.attempt('carol', `nope-${i}`, `10.20.0.${i}`)).status, 401);
  for (let i = 0; i < 2; i++) t.is((await p2.attempt('carol', `nope-${i}`, `10.21.0.${i}`)).status, 401);
  t.true(
    two.logs.some((l) => l.audit === 'login.locked' && l.kind === 'user'),
    'the 5th failure, on the second instance, locks',
  );
  t.is((await p1.attempt('carol', 'carol-password-1', '10.22.0.1')).status, 401, 'locked on the first instance too');

  const cc = (issuer: string) =>
    fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { ...FORM, authorization: basic('client-a', SECRET_A) },
      body: 'grant_type=client_credentials',
    });
  t.is((await cc(one.issuer)).status, 200);
  t.is((await cc(two.issuer)).status, 200);
  t.is((await cc(one.issuer)).status, 200);
  t.is((await cc(two.issuer)).status, 429);
});
