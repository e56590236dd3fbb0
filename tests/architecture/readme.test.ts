/**
 * The README stays a page of essentials: under 10,000 bytes, and every relative link in it and in docs/ leads to a
 * file that exists (figures and details live in docs/, each in one place).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import test from 'ava';

const root = new URL('../../', import.meta.url).pathname;

test('README.md is under 10,000 bytes', (t) => {
  const size = readFileSync(join(root, 'README.md')).length;
  t.true(size < 10_000, `README.md is ${size} bytes`);
});

test('every relative link in README.md and docs/*.md names a file that exists', (t) => {
  const pages = [
    'README.md',
    ...readdirSync(join(root, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];
  const broken: string[] = [];
  let links = 0;
  for (const page of pages) {
    for (const [, target = ''] of readFileSync(join(root, page), 'utf8').matchAll(/\]\(([^)\s#]+)(?:#[^)]*)?\)/g)) {
      if (/^[a-z]+:/i.test(target)) continue;
      links++;
      if (!existsSync(join(root, dirname(page), target))) broken.push(`${page} → ${target}`);
    }
  }
  t.true(links > 20, `${links} relative links found`);
  t.deepEqual(broken, []);
});
