/**
 * CLI plumbing: argument parsing, reading secrets from stdin, and the error type whose message is shown to the
 * operator (exit code 2 for usage errors, 1 for everything else). Secrets are never echoed.
 */
export class CliError extends Error {
  override name = 'CliError';
  readonly code = 'CLI_FAILED';
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string[]>;
}

/** `--name value`, `--name=value` and boolean `--flag` (listed in `booleans`). Repeated flags accumulate. */
export function parseArgs(argv: readonly string[], booleans: readonly string[] = []): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === undefined) break;
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    let value: string;
    if (eq !== -1) value = arg.slice(eq + 1);
    else if (booleans.includes(name)) value = 'true';
    else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new CliError(`--${name} needs a value`, 2);
      value = next;
      i++;
    }
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return { positionals, flags };
}

export function onlyFlags(args: ParsedArgs, allowed: readonly string[]): void {
  for (const name of args.flags.keys()) if (!allowed.includes(name)) throw new CliError(`unknown option --${name}`, 2);
}

export function single(args: ParsedArgs, name: string): string | undefined {
  const values = args.flags.get(name);
  if (values && values.length > 1) throw new CliError(`--${name} given more than once`, 2);
  return values?.[0];
}

async function readStdin(stdin: NodeJS.ReadableStream, limit = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    if (size > limit) throw new CliError('standard input is too large');
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A password from stdin: one line, the trailing newline removed. */
export async function readPassword(stdin: NodeJS.ReadableStream): Promise<string> {
  const text = await readStdin(stdin);
  const password = text.replace(/\r?\n$/, '');
  if (password.includes('\n')) throw new CliError('--password-stdin expects a single line');
  if (password.length === 0) throw new CliError('no password on standard input');
  return password;
}

export interface Io {
  stdin: NodeJS.ReadableStream;
  out(line: string): void;
}
