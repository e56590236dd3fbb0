/**
 * Hashing runs on Gatehouse's own threads, not on libuv's pool, which WebCrypto (every ID token and JWT access
 * token signature) needs. The assertion is about order, not time: a signature started while 16 verifications are
 * queued finishes while most of them are still waiting. On libuv's pool it queued behind all of them.
 */
import { getPriority } from 'node:os';
import test from 'ava';
import argon2 from 'argon2';
import { HASHING_NICE, hashingPool } from '../../src/accounts/hashing-pool.ts';
import { createPasswordHasher } from '../../src/accounts/passwords.ts';
import { formatPhc, parsePhc } from '../../src/accounts/phc.ts';

test('a signature started during a login storm does not wait for the storm to drain', async (t) => {
  // Default (OWASP) parameters: each verification keeps a thread busy for tens of milliseconds.
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
  t.deepEqual(
    results,
    results.map((_, i) => i % 2 === 1),
  );
});

test('on Linux the hashing threads run below the event loop', async (t) => {
  const tids = await hashingPool().threadIds();
  // Thread ids come from /proc: found on Linux, none elsewhere (and then nothing to renice).
  t.is(tids.length > 0, process.platform === 'linux', `hashing threads found: ${tids.length}`);
  const loop = getPriority();
  // A process started at or past HASHING_NICE keeps its value (lowering further is all that is allowed).
  for (const tid of tids) t.is(getPriority(tid), Math.max(HASHING_NICE, loop));
});

test('hashes are interchangeable with the argon2 package, both ways; malformed hashes verify as false', async (t) => {
  const params = { memoryCost: 1024, timeCost: 1, parallelism: 1 };
  const hasher = await createPasswordHasher(params);
  const ours = await hasher.hash('correct horse');
  t.true(await argon2.verify(ours, 'correct horse'));
  t.false(await argon2.verify(ours, 'wrong horse'));
  const theirs = await argon2.hash('correct horse', { type: argon2.argon2id, ...params });
  t.deepEqual(await hasher.verify(theirs, 'correct horse'), { ok: true, rehash: false });
  t.deepEqual(await hasher.verify(theirs, 'wrong horse'), { ok: false, rehash: false });
  const older = await argon2.hash('correct horse', {
    type: argon2.argon2id,
    memoryCost: 2048,
    timeCost: 1,
    parallelism: 1,
  });
  t.deepEqual(await hasher.verify(older, 'correct horse'), { ok: true, rehash: true });
  for (const bad of [
    '',
    'plain',
    '$argon2i$v=19$m=1024,p=1,t=1$c2FsdHNhbHQ$aGFzaGhhc2g',
    '$argon2id$v=19$m=1024,t=1$c2FsdHNhbHQ$aGFzaGhhc2g',
    `${ours}$x`,
  ]) {
    t.deepEqual(await hasher.verify(bad, 'correct horse'), { ok: false, rehash: false }, bad);
  }
  const parsed = parsePhc(ours);
  t.truthy(parsed);
  t.is(formatPhc(parsed as NonNullable<typeof parsed>), ours);
});
