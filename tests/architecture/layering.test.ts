/**
 * The dependency direction of src/: each file imports only from its own layer or the layers below it, and the
 * resource-server token guard imports nothing of Gatehouse at all (it can be copied or published on its own).
 * The layers, lowest first, are LAYERS below; README.md "Architecture" is the map a reader sees.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import test from 'ava';
import { defined } from '../helpers/defined.ts';

/** Lowest first. A path matches the first entry with a prefix of it (more specific entries come first). */
const LAYERS: ReadonlyArray<{ name: string; prefixes: readonly string[] }> = [
  { name: 'config', prefixes: ['src/config/'] },
  { name: 'storage', prefixes: ['src/storage/'] },
  { name: 'web', prefixes: ['src/web/'] },
  { name: 'accounts', prefixes: ['src/accounts/'] },
  { name: 'audit', prefixes: ['src/audit/'] },
  { name: 'provider', prefixes: ['src/provider/'] },
  { name: 'interactions', prefixes: ['src/interactions/'] },
  { name: 'account center', prefixes: ['src/account/'] },
  { name: 'http', prefixes: ['src/http/'] },
  { name: 'development extras', prefixes: ['src/demo/seed.ts', 'src/demo/startup-banner.ts'] },
  { name: 'main', prefixes: ['src/gatehouse.ts', 'src/main.ts'] },
  { name: 'apps', prefixes: ['src/cli/', 'src/demo/'] },
];
const STANDALONE = 'src/resource-server/';

const root = join(import.meta.dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The src/ files a file imports (static imports, re-exports and dynamic `import('…')` with a literal path). */
function importsIn(file: string, text: string): string[] {
  const specifiers = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)'(\.{1,2}\/[^']+)'/gm)].map((m) =>
    defined(m[1], 'm[1]'),
  );
  return specifiers.map((s) => normalize(join(dirname(file), s)).replaceAll('\\', '/'));
}

function localImports(file: string): string[] {
  return importsIn(file, readFileSync(join(root, file), 'utf8'));
}

function layerOf(file: string): number {
  return LAYERS.findIndex((layer) => layer.prefixes.some((p) => file.startsWith(p)));
}

const files = sourceFiles('src');

test('every file of src/ belongs to a layer or to the standalone resource server', (t) => {
  const unplaced = files.filter((f) => !f.startsWith(STANDALONE) && layerOf(f) === -1);
  t.deepEqual(unplaced, []);
  t.true(files.length > 50, `found only ${files.length} files under src/`);
});

/** Every import of `graph` (file → the files it imports) that points up or out of its layer. */
function upwardImports(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const upward: string[] = [];
  for (const [file, targets] of graph) {
    if (file.startsWith(STANDALONE)) continue;
    const from = layerOf(file);
    for (const target of targets) {
      if (target.startsWith(STANDALONE)) {
        if (LAYERS[from]?.name !== 'apps')
          upward.push(`${file} (${LAYERS[from]?.name}) imports the resource server ${target}: only apps may`);
        continue;
      }
      const to = layerOf(target);
      if (to === -1) upward.push(`${file} imports ${target}, which belongs to no layer`);
      else if (to > from) upward.push(`${file} (${LAYERS[from]?.name}) imports ${target} (${LAYERS[to]?.name})`);
    }
  }
  return upward;
}

test('imports point down the layers: config → storage → web → accounts → audit → provider → interactions → http → main', (t) => {
  const graph = new Map(files.map((f) => [f, localImports(f)]));
  const count = [...graph.values()].reduce((n, targets) => n + targets.length, 0);
  t.true(count > 200, `parsed only ${count} imports`);
  t.deepEqual(upwardImports(graph), []);
});

test('the check names an import that points up', (t) => {
  const graph = new Map([
    ['src/storage/redis-store.ts', ['src/config/errors.ts', 'src/config/load.ts']],
    ['src/accounts/throttle.ts', ['src/interactions/login-guard.ts']],
    ['src/provider/pages.ts', ['src/resource-server/bearer-error.ts']],
  ]);
  t.deepEqual(upwardImports(graph), [
    'src/accounts/throttle.ts (accounts) imports src/interactions/login-guard.ts (interactions)',
    'src/provider/pages.ts (provider) imports the resource server src/resource-server/bearer-error.ts: only apps may',
  ]);
});

test('the resource-server guard imports nothing from the rest of Gatehouse', (t) => {
  const guard = files.filter((f) => f.startsWith(STANDALONE));
  t.true(guard.length > 5);
  const outside = guard.flatMap((file) =>
    localImports(file)
      .filter((target) => !target.startsWith(STANDALONE))
      .map((target) => `${file} imports ${target}`),
  );
  t.deepEqual(outside, []);
});

test('the import reader sees every form of local import and nothing else', (t) => {
  const text = [
    "import { a } from '../config/a.ts';",
    'import {',
    '  b,',
    "} from './b.ts';",
    "import type { C } from '../storage/c.ts';",
    "import '../web/side-effect.ts';",
    "export { d } from '../web/d.ts';",
    "const e = await import('../http/e.ts');",
    "import Koa from 'koa';",
    "const text = 'from ../not/an/import.ts';",
  ].join('\n');
  t.deepEqual(importsIn('src/provider/x.ts', text), [
    'src/config/a.ts',
    'src/provider/b.ts',
    'src/storage/c.ts',
    'src/web/side-effect.ts',
    'src/web/d.ts',
    'src/http/e.ts',
  ]);
});
