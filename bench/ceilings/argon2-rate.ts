/**
 * Ceiling for the login scenario: how many argon2id verifications per second this machine does with the
 * configured parameters, the way Gatehouse does them — the `argon2` binding on libuv's thread pool (same
 * UV_THREADPOOL_SIZE as the server, inherited from the environment), with enough verifications in flight to keep
 * every pool thread busy. A password login costs one verification, so logins/s can at best reach this rate.
 *
 * Driven over IPC by the bench: { memoryCost, timeCost, parallelism, durationSec, inFlight } → { verifies, rps,
 * cpuMsPerVerify } (the process's CPU time over the timed verifications, all threads).
 */
import argon2 from 'argon2';

interface Ask {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
  durationSec: number;
  inFlight: number;
}

async function measure(a: Ask): Promise<{ verifies: number; durationSec: number; rps: number; failures: number; cpuMsPerVerify: number }> {
  const password = 'a correct horse battery staple';
  const hash = await argon2.hash(password, { type: argon2.argon2id, memoryCost: a.memoryCost, timeCost: a.timeCost, parallelism: a.parallelism });
  // Warm the pool threads and the binding once.
  await Promise.all(Array.from({ length: a.inFlight }, () => argon2.verify(hash, password)));
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const end = start + a.durationSec * 1000;
  let verifies = 0;
  let failures = 0;
  const worker = async () => {
    while (performance.now() < end) {
      if (await argon2.verify(hash, password)) verifies += 1;
      else failures += 1;
    }
  };
  await Promise.all(Array.from({ length: a.inFlight }, worker));
  const durationSec = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { verifies, durationSec, rps: verifies / durationSec, failures, cpuMsPerVerify: (cpu.user + cpu.system) / 1000 / Math.max(1, verifies + failures) };
}

process.on('message', (a: Ask) => {
  measure(a).then(
    (r) => process.send?.(r),
    (err: Error) => process.send?.({ error: err.message }),
  );
});
