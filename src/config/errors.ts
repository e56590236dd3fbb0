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
