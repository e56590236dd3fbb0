/**
 * Child processes of the bench and the tests: free ports, spawning Node entry points (the same `node <file>.ts`
 * users run), waiting for an HTTP readiness URL or any polled condition, running a CLI command to completion, and
 * stopping children by their own id.
 *
 * Rules: every child runs on this Node (process.execPath, Node 24 from the project's devDependency); a child's
 * stderr is kept (last 4 KiB) so a failed start can say why; nothing here ever kills a process it did not start.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** The repository root: every child runs from here, and file arguments are relative to it. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const at = (file: string) => resolve(ROOT, file);

export async function freePort(): Promise<number> {
  return new Promise((done, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => done(port));
    });
  });
}

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  /** The last few KiB the child wrote to stderr (for error messages). */
  stderrTail(): string;
  stop(): Promise<void>;
}

/**
 * Sends `signal` to a child this program started and resolves once it has exited (at once if it already has);
 * with `killAfterMs`, a child still running by then gets SIGKILL.
 */
export async function stopChild(
  child: ChildProcess,
  signal: NodeJS.Signals = 'SIGTERM',
  killAfterMs?: number,
): Promise<void> {
  // A process killed by a signal has signalCode set and exitCode null: it is gone either way.
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Waits until `check()` holds, for a condition no event announces (text a child process wrote into a buffer, a
 * port that starts listening, a cluster state read by polling). Polls every `everyMs`; fails naming `what` after
 * `ms`, generous for a busy 2-core machine. An error thrown by `check` ends the wait with that error.
 */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  ms = 30_000,
  everyMs = 25,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

function track(name: string, child: ChildProcess): Child {
  let tail = '';
  child.stderr?.on('data', (d: Buffer) => {
    tail = (tail + d.toString()).slice(-4096);
  });
  return {
    name,
    process: child,
    stderrTail: () => tail,
    stop: () => stopChild(child, 'SIGTERM', 5000),
  };
}

/**
 * A long-running Node program (a server), stderr kept; `nodeArgs` go to Node (e.g. --cpu-prof). stdout is
 * ignored, or written to the open file `stdoutFd` (as a deployment pipes a server's log lines to a file).
 */
export function startNode(
  name: string,
  file: string,
  env: NodeJS.ProcessEnv,
  nodeArgs: string[] = [],
  stdoutFd?: number,
): Child {
  const child = spawn(process.execPath, [...nodeArgs, at(file)], {
    env,
    cwd: ROOT,
    stdio: ['ignore', stdoutFd ?? 'ignore', 'pipe'],
  });
  return track(name, child);
}

/** A Node program driven over IPC (load generators, ceilings): stdout/stderr pass through to the terminal. */
export function forkNode(name: string, file: string, env: NodeJS.ProcessEnv = process.env): Child {
  const child = fork(at(file), [], { env, cwd: ROOT, stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
  return track(name, child);
}

/** Sends one message to an IPC child and resolves with its next answer (or rejects if it dies first). */
export function ask<T>(child: Child, message: unknown): Promise<T> {
  return new Promise((done, reject) => {
    const onMessage = (answer: unknown) => {
      cleanup();
      const a = answer as { error?: string };
      if (a && typeof a === 'object' && typeof a.error === 'string') reject(new Error(`${child.name}: ${a.error}`));
      else done(answer as T);
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`${child.name} exited (${code}) before answering: ${child.stderrTail()}`));
    };
    const cleanup = () => {
      child.process.off('message', onMessage);
      child.process.off('exit', onExit);
    };
    child.process.on('message', onMessage);
    child.process.on('exit', onExit);
    child.process.send(message as object);
  });
}

/** Polls `url` until it answers 200, or fails with the child's stderr if it exits or takes too long. */
export async function waitForHttp(child: Child, url: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null)
      throw new Error(`${child.name} exited with ${child.process.exitCode}: ${child.stderrTail()}`);
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${child.name} did not answer 200 on ${url} within ${ms} ms: ${child.stderrTail()}`);
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a Node program to completion with optional stdin (the CLI). */
export function runNode(file: string, args: string[], env: NodeJS.ProcessEnv, stdin = ''): Promise<RunResult> {
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, [at(file), ...args], { env, cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('exit', (code) => done({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}
