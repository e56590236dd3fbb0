import { defined } from '../helpers/defined.ts';
/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4), written from the format's
 * specification, used to check that /metrics is well-formed — not just that it contains some substrings.
 *
 * Checked, line by line: `# HELP <name> <text>` and `# TYPE <name> <counter|gauge|histogram|summary|untyped>`
 * (at most one of each per family, TYPE before the family's first sample); other `#` lines are comments; a sample
 * is `name{label="value",...} value [timestamp]` with a valid metric name, valid label names, label values with
 * only the escapes \\ \" \n, no duplicate label names, and a float value (the special values spelt NaN, +Inf, -Inf).
 * Samples of one family are contiguous; histogram series have cumulative `_bucket`s ending in `le="+Inf"`,
 * equal to `_count`. Throws an Error naming the line on the first violation.
 */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  type: string;
  help?: string;
  readonly samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(text: string, where: string): number {
  // The text format's spelling of the special values (what every Prometheus client writes).
  if (text === 'NaN') return Number.NaN;
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text))
    throw new Error(`${where}: bad value ${JSON.stringify(text)}`);
  return Number(text);
}

function parseLabels(text: string, where: string): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 0;
  for (;;) {
    while (text[i] === ' ') i++;
    if (text[i] === '}') return { labels, rest: text.slice(i + 1) };
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new Error(`${where}: label without =`);
    const name = text.slice(i, eq).trim();
    if (!LABEL_NAME.test(name)) throw new Error(`${where}: bad label name ${JSON.stringify(name)}`);
    if (name in labels) throw new Error(`${where}: duplicate label ${name}`);
    if (text[eq + 1] !== '"') throw new Error(`${where}: label value must be quoted`);
    let value = '';
    let j = eq + 2;
    for (; ; j++) {
      const c = text[j];
      if (c === undefined) throw new Error(`${where}: unterminated label value`);
      if (c === '"') break;
      if (c === '\n') throw new Error(`${where}: raw newline in label value`);
      if (c === '\\') {
        const e = text[++j];
        if (e === '\\') value += '\\';
        else if (e === '"') value += '"';
        else if (e === 'n') value += '\n';
        else throw new Error(`${where}: bad escape \\${e}`);
      } else value += c;
    }
    labels[name] = value;
    i = j + 1;
    while (text[i] === ' ') i++;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') throw new Error(`${where}: expected , or } after label ${name}`);
  }
}

/** The family a sample name belongs to, given its declared type. */
function familyOf(sample: string, families: Map<string, Family>): Family | undefined {
  const direct = families.get(sample);
  if (direct) return direct;
  for (const suffix of ['_bucket', '_sum', '_count', '_total', '_created']) {
    if (!sample.endsWith(suffix)) continue;
    const f = families.get(sample.slice(0, -suffix.length));
    if (!f) continue;
    if (f.type === 'histogram' && ['_bucket', '_sum', '_count'].includes(suffix)) return f;
    if (f.type === 'summary' && ['_sum', '_count'].includes(suffix)) return f;
  }
  return undefined;
}

function checkHistogram(f: Family): void {
  const series = new Map<string, { buckets: Array<[number, number]>; count?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const entry = series.get(key) ?? { buckets: [] };
    series.set(key, entry);
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) throw new Error(`${f.name}: bucket without le`);
      entry.buckets.push([parseValue(le, `${f.name} le`), s.value]);
    } else if (s.name === `${f.name}_count`) entry.count = s.value;
  }
  for (const [key, { buckets, count }] of series) {
    const last = buckets.at(-1);
    if (!last || last[0] !== Number.POSITIVE_INFINITY) throw new Error(`${f.name}${key}: no le="+Inf" bucket last`);
    for (let i = 1; i < buckets.length; i++) {
      const [prevLe, prevN] = buckets[i - 1] as [number, number];
      const [le, n] = buckets[i] as [number, number];
      if (!(le > prevLe) || n < prevN) throw new Error(`${f.name}${key}: buckets not cumulative`);
    }
    if (count !== last[1]) throw new Error(`${f.name}${key}: _count ${count} != +Inf bucket ${last[1]}`);
  }
}

export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const closed = new Set<string>();
  let current: Family | undefined;
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((line, n) => {
    const where = `line ${n + 1}`;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
      if (!m) return; // a plain comment
      const [, kind, name, rest = ''] = m as unknown as [string, string, string, string | undefined];
      if (!METRIC_NAME.test(name)) throw new Error(`${where}: bad metric name ${name}`);
      let f = families.get(name);
      if (!f) {
        f = { name, type: 'untyped', samples: [] };
        families.set(name, f);
      }
      if (kind === 'TYPE') {
        if (!TYPES.has(rest.trim())) throw new Error(`${where}: bad type ${rest}`);
        if (f.samples.length > 0) throw new Error(`${where}: TYPE after samples of ${name}`);
        if ((f as { typed?: boolean }).typed) throw new Error(`${where}: second TYPE for ${name}`);
        (f as { typed?: boolean }).typed = true;
        f.type = rest.trim();
      } else {
        if (f.help !== undefined) throw new Error(`${where}: second HELP for ${name}`);
        f.help = rest;
      }
      return;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(.*)$/.exec(line);
    if (!m) throw new Error(`${where}: not a sample: ${line}`);
    const [, name, after] = m as unknown as [string, string, string];
    let labels: Record<string, string> = {};
    let rest = after;
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest.slice(1), where));
    const parts = rest.trim().split(/\s+/);
    if (!rest.startsWith(' ') || parts.length < 1 || parts.length > 2)
      throw new Error(`${where}: expected value [timestamp]`);
    const value = parseValue(defined(parts[0], 'parts[0]'), where);
    if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new Error(`${where}: bad timestamp`);
    let f = familyOf(name, families);
    if (!f) {
      f = { name, type: 'untyped', samples: [] };
      families.set(name, f);
    }
    if (current !== f) {
      if (closed.has(f.name)) throw new Error(`${where}: samples of ${f.name} are not contiguous`);
      if (current) closed.add(current.name);
      current = f;
    }
    f.samples.push({ name, labels, value });
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

/** Sum of the samples named `name` whose labels include `match`. */
export function sampleSum(families: Map<string, Family>, name: string, match: Record<string, string> = {}): number {
  let sum = 0;
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)) sum += s.value;
    }
  }
  return sum;
}
