/**
 * A login storm never takes the whole libuv thread pool: WebCrypto (every ID token and JWT access token
 * signature) shares it with argon2. The assertion is about order, not time: a signature started while 16
 * verifications are queued finishes while most of them are still waiting. Without the hashing slots it would
 * queue behind all of them.
 */
import test from 'ava';
import { getPriority } from 'node:os';
import { createPasswordHasher, hashingSlots, POOL_NICE, poolThreads } from '../../src/accounts/passwords.ts';

test('a signature started during a login storm does not wait for the storm to drain', async (t) => {
  const slots = hashingSlots();
  t.true(slots >= 1 && slots < (Number(process.env.UV_THREADPOOL_SIZE) || 4), `${slots} slots leave a pool thread free`);
  // Default (OWASP) parameters: each verification keeps a pool thread busy for tens of milliseconds.
  const hasher = await createPasswordHasher({ memoryCost: 19456, timeCost: 2, parallelism: 1 });
  const hash = await hasher.hash('the right password');
  const { privateKey } = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  let finished = 0;
  const storm = Array.from({ length: 16 }, (_, i) =>
    hasher.verify(hash, i % 2 ? 'the right password' : 'a wrong password').then((r) => {
      finished++;
      return r.ok;
    }),
  );
  await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, privateKey, new Uint8Array(64));
  const finishedWhenSigned = finished;
  const results = await Promise.all(storm);
  t.true(finishedWhenSigned <= 8, `the signature waited for ${finishedWhenSigned} of 16 verifications`);
  // The slots change the order of work, never its outcome.
  t.deepEqual(
    results,
    results.map((_, i) => i % 2 === 1),
  );
});

test('on Linux the pool threads run below the event loop', async (t) => {
  await createPasswordHasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 });
  if (process.platform !== 'linux') {
    t.deepEqual(poolThreads(), []);
    return;
  }
  const threads = poolThreads();
  t.true(threads.length >= 1, 'libuv pool threads are found');
  // A process started with a nice value at or past POOL_NICE keeps it (lowering further is all that is allowed).
  const loop = getPriority();
  for (const tid of threads) t.is(getPriority(tid), Math.max(POOL_NICE, loop));
  t.true(loop < POOL_NICE || loop === getPriority(threads[0]), 'the event loop is not lowered');
});
