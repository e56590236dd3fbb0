/**
 * The error every configuration problem raises, wherever it is found (the loader, the key loader, the Redis
 * settings, the memory-policy check), so a start-up has one way to report a bad setting and stop.
 */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  override name = 'ConfigError';
  /** One line per problem; a single problem is the message itself. */
  readonly problems: readonly string[];
  constructor(problems: string | readonly string[]) {
    const list = typeof problems === 'string' ? [problems] : problems;
    super(list.join('; '));
    this.problems = list;
  }
}

/**
 * How a process reports the problems that stop its start, on stderr: `program: what: problem` for one, else a
 * count followed by one indented line per problem.
 */
export function refusalText(program: string, what: string, problems: readonly string[]): string {
  const lines =
    problems.length === 1
      ? [`${program}: ${what}: ${problems[0]}`]
      : [`${program}: ${what} (${problems.length} problems):`, ...problems.map((p) => `  ${p}`)];
  return `${lines.join('\n')}\n`;
}
