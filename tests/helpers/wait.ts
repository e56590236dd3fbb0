/**
 * Waits until `check()` holds, for a condition no event announces (text a child process wrote into a buffer, a
 * cluster state read by polling). Polls every 25 ms; fails naming `what` after `ms`, generous for a busy 2-core
 * machine.
 */
export async function waitFor(check: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
