/**
 * Narrowing for tests under noUncheckedIndexedAccess: a value a test expects to be there (an array element, a
 * message of a catalogue, a regex capture), or an error that says what was missing, instead of a cast that would
 * let `undefined` through to a later, less clear failure.
 */
export function defined<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`expected ${what}, found nothing`);
  return value;
}

/** The first capture group of `pattern` in `text`; an error naming the pattern when it does not match. */
export function capture(pattern: RegExp, text: string): string {
  const found = pattern.exec(text)?.[1];
  if (found === undefined) throw new Error(`expected a match for ${pattern}, found none`);
  return found;
}
