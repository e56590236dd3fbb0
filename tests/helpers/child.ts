/**
 * A child process of the tests (the server, the CLI, tsc) with its output collected.
 * `exited` waits for 'close', not 'exit': 'exit' can come before the last stdout chunk has been read, and the
 * tests read the last log lines.
 */
import { spawn } from 'node:child_process';

export interface Child {
  readonly pid: number | undefined;
  readonly exited: Promise<number | null>;
  /** null while it runs. */
  exitCode(): number | null;
  out(): string;
  err(): string;
  kill(signal?: NodeJS.Signals): boolean;
}

export interface ChildOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to stdin, which is then closed; without it stdin is not connected. */
  stdin?: string;
}

export function startChild(command: string, args: string[], options: ChildOptions = {}): Child {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    err += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  if (options.stdin !== undefined) child.stdin?.end(options.stdin);
  return {
    pid: child.pid,
    exited,
    exitCode: () => child.exitCode,
    out: () => out,
    err: () => err,
    kill: (signal) => child.kill(signal),
  };
}

/** A Node script of the project run on the test's own Node, with a minimal environment plus `env`. */
export function startNode(script: string, args: string[], env: NodeJS.ProcessEnv = {}, stdin?: string): Child {
  return startChild(process.execPath, [script, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdin,
  });
}

/** Runs a Node script to its end. */
export async function runNode(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  stdin?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = startNode(script, args, env, stdin);
  const code = await child.exited;
  return { code, stdout: child.out(), stderr: child.err() };
}
