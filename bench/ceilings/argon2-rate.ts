/**
 * Ceiling for the login scenario: how many argon2id verifications per second this machine does with the
 * configured parameters, on libuv's thread pool (same UV_THREADPOOL_SIZE as the server, inherited from the
 * environment) with enough verifications in flight to keep every pool thread busy. A password login costs one
 * verification, so logins/s can at best reach this rate.
 *
 * Two engines can do the work: the `argon2` npm package, and Node's own `crypto.argon2` (Node >= 24.7), which
 * Gatehouse may use instead. The bench measures both once and takes the faster as the ceiling (a ceiling is
 * the best the machine can do; a slower engine in the server shows up in the ratio).
 *
 * Driven over IPC by the bench: { engine, memoryCost, timeCost, parallelism, durationSec, inFlight } →
 * { verifies, rps, cpuMsPerVerify } (the process's CPU time over the timed verifications, all threads).
 */
import * as crypto from 'node:crypto';
import argon2 from 'argon2';

export type Engine = 'argon2-package' | 'node-crypto';

interface Ask {
  engine: Engine;
  memoryCost: number;
  timeCost: number;
  parallelism: number;
  durationSec: number;
  inFlight: number;
}

type Verify = () => Promise<boolean>;

async function verifier(a: Ask): Promise<Verify> {
  const password = 'a correct horse battery staple';
  if (a.engine === 'argon2-package') {
    const hash = await argon2.hash(password, {
      type: argon2.argon2id,
      memoryCost: a.memoryCost,
      timeCost: a.timeCost,
      parallelism: a.parallelism,
    });
    return () => argon2.verify(hash, password);
  }
  const derive = (
    crypto as unknown as { argon2?: (alg: string, p: object, cb: (err: Error | null, key: Buffer) => void) => void }
  ).argon2;
  if (!derive) throw new Error('this Node has no crypto.argon2');
  const params = (nonce: Buffer) => ({
    message: password,
    nonce,
    parallelism: a.parallelism,
    tagLength: 32,
    memory: a.memoryCost,
    passes: a.timeCost,
  });
  const run = (nonce: Buffer) =>
    new Promise<Buffer>((resolve, reject) =>
      derive('argon2id', params(nonce), (err, key) => (err ? reject(err) : resolve(key))),
    );
  const salt = crypto.randomBytes(16);
  const expected = await run(salt);
  return async () => crypto.timingSafeEqual(await run(salt), expected);
}

async function measure(a: Ask): Promise<{
  engine: Engine;
  verifies: number;
  durationSec: number;
  rps: number;
  failures: number;
  cpuMsPerVerify: number;
}> {
  const verify = await verifier(a);
  // Warm the pool threads once.
  await Promise.all(Array.from({ length: a.inFlight }, verify));
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const end = start + a.durationSec * 1000;
  let verifies = 0;
  let failures = 0;
  const worker = async () => {
    while (performance.now() < end) {
      if (await verify()) verifies += 1;
      else failures += 1;
    }
  };
  await Promise.all(Array.from({ length: a.inFlight }, worker));
  const durationSec = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return {
    engine: a.engine,
    verifies,
    durationSec,
    rps: verifies / durationSec,
    failures,
    cpuMsPerVerify: (cpu.user + cpu.system) / 1000 / Math.max(1, verifies + failures),
  };
}

process.on('message', (a: Ask) => {
  measure(a).then(
    (r) => process.send?.(r),
    (err: Error) => process.send?.({ error: err.message }),
  );
});
