/**
 * No account enumeration: an unknown user, a wrong password, a disabled account and a locked account get the
 * same status and the same page, and cost the same work: every attempt of every kind runs exactly one argon2id
 * verification on the hashing threads, with the shipped default parameters (for an unknown or locked user, the
 * dummy hash). Same work is what makes the times equal; checking the work itself, not wall time, keeps the test
 * exact on a loaded machine and still fails the moment one kind skips or cheapens its verification.
 */
import test from 'ava';
import defaults from '../../config/default.json' with { type: 'json' };
import { hashingPool } from '../../src/accounts/hashing-pool.ts';
import { parsePhc } from '../../src/accounts/phc.ts';
import { startGatehouse } from '../helpers/gatehouse.ts';
import { CLIENTS } from './fixtures.ts';
import { openLoginPage } from './login-client.ts';

const ROUNDS = 5;

/**
 * Records the argon2id parameters of every verification the process's hashing threads run (the pool is the one
 * Gatehouse uses: it runs in this process). Jobs still run as they would; the recording ends at teardown.
 */
function recordVerifications(t: import('ava').ExecutionContext): string[] {
  const pool = hashingPool();
  const run = pool.run.bind(pool);
  const seen: string[] = [];
  pool.run = ((job: Parameters<typeof run>[0], options: Parameters<typeof run>[1]) => {
    if (job.kind === 'verify') {
      const p = parsePhc(job.phc);
      seen.push(p ? `m=${p.memoryCost},t=${p.timeCost},p=${p.parallelism}` : 'unreadable hash');
    }
    return run(job, options);
  }) as typeof pool.run;
  t.teardown(() => {
    pool.run = run;
  });
  return seen;
}

test('unknown user, wrong password, disabled and locked accounts: same answer, one full-cost verification each', async (t) => {
  const { memoryCost, timeCost, parallelism } = defaults.argon2;
  const gh = await startGatehouse(t, {
    clients: CLIENTS,
    trustProxy: true,
    // The shipped argon2id parameters: the dummy verification must cost what a real one costs with them.
    'argon2.memoryCost': memoryCost,
    'argon2.timeCost': timeCost,
    'argon2.parallelism': parallelism,
    // The wrong passwords for `demo` stay short of its lock; `frozen` is locked (for longer than the test).
    'loginThrottle.maxFailures': ROUNDS + 1,
    'loginThrottle.ipMaxFailures': 100_000,
    'loginThrottle.lockBaseSeconds': 3600,
    'loginThrottle.lockCapSeconds': 3600,
  });
  const { accounts } = gh.gatehouse;
  await accounts.create({ username: 'sleeper', password: 'sleeper-password' });
  await accounts.setDisabled('sleeper', true);
  await accounts.create({ username: 'frozen', password: 'frozen-password' });
  const page = await openLoginPage(gh.issuer);
  for (let i = 0; i <= ROUNDS; i++) await page.attempt('frozen', `guess-${i}`, `10.50.0.${i}`);
  t.true(
    gh.logs.some((l) => l.audit === 'login.locked' && l.kind === 'user'),
    'frozen is locked',
  );

  const kinds = {
    unknown: (i: number) => ({ username: `ghost-${i}`, password: `guess-${i}` }),
    wrong_password: (i: number) => ({ username: 'demo', password: `guess-${i}` }),
    disabled: () => ({ username: 'sleeper', password: 'sleeper-password' }),
    locked: () => ({ username: 'frozen', password: 'frozen-password' }),
  };
  const fullCost = `m=${memoryCost},t=${timeCost},p=${parallelism}`;
  const verifications = recordVerifications(t);
  const bodies = new Set<string>();
  for (let i = 0; i < ROUNDS; i++) {
    for (const [name, credentials] of Object.entries(kinds)) {
      const { username, password } = credentials(i);
      const before = verifications.length;
      const r = await page.attempt(username, password, `10.60.0.${i}`);
      t.is(r.status, 401, `${name} ${username}`);
      t.deepEqual(verifications.slice(before), [fullCost], `${name}: one verification at the default cost`);
      bodies.add(r.html.replace(/nonce-[^'"]+|nonce="[^"]+"|value="[^"]*"/g, ''));
    }
  }
  t.is(bodies.size, 1, 'the same page for every kind of failure');
  const reasons = new Set(gh.logs.filter((l) => l.audit === 'login.failure').map((l) => l.reason));
  for (const r of ['unknown', 'bad_password', 'disabled', 'locked'])
    t.true(reasons.has(r), `audit log tells ${r} apart`);
});
