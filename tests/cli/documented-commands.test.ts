/**
 * The key-generation command exactly as README.md, docs/operations.md and compose.yaml write it, pasted into a shell: it must leave a
 * JWKS the server accepts, readable by its owner only, and never overwrite one that exists. The files a user is
 * told to create stay out of git and out of the linter.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { startGatehouse } from '../helpers/gatehouse.ts';

const root = process.cwd();

/** `npm …` command lines of a document that contain `needle`, as a user pastes them (YAML comment marks removed). */
function documentedLines(file: string, needle: string): string[] {
  return readFileSync(join(root, file), 'utf8')
    .split('\n')
    .map((line) =>
      line
        .replace(/^#\s+/, '')
        .replace(/\s+#\s.*$/, '')
        .trim(),
    )
    .filter((line) => line.startsWith('npm ') && line.includes(needle));
}

/** A directory laid out like a fresh clone (the project's files linked in), so what a command writes lands there. */
function cloneDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-docs-'));
  for (const entry of ['package.json', 'src', 'config', 'node_modules'])
    symlinkSync(join(root, entry), join(dir, entry));
  return dir;
}

function shell(line: string, cwd: string) {
  return spawnSync('sh', ['-c', line], {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    encoding: 'utf8',
  });
}

const keyCommands = [
  ...documentedLines('README.md', 'keys generate'),
  ...documentedLines('docs/operations.md', 'keys generate'),
  ...documentedLines('compose.yaml', 'keys generate'),
];

test('the documents show the key-generation command', (t) => {
  // README's command list, the Container section of docs/operations.md, and compose.yaml's header.
  t.is(keyCommands.length, 3);
});

for (const [i, line] of keyCommands.entries()) {
  test(`documented command ${i + 1} works as pasted: ${line}`, async (t) => {
    const dir = cloneDir();
    const run = shell(line, dir);
    t.is(run.status, 0, run.stderr);
    const file = join(dir, 'jwks.json');
    t.is(statSync(file).mode & 0o777, 0o600, 'private keys readable by their owner only');
    const text = readFileSync(file, 'utf8');
    const jwks = JSON.parse(text) as { keys: Array<{ alg: string; d?: string }> };
    t.deepEqual(jwks.keys.map((k) => k.alg).sort(), ['ES256', 'EdDSA', 'RS256']);
    t.true(jwks.keys.every((k) => typeof k.d === 'string'));
    t.notRegex(run.stdout + run.stderr, new RegExp(jwks.keys[0]?.d as string), 'the private key is not printed');

    // The server starts on it.
    const gh = await startGatehouse(t, {}, { JWKS_FILE: file });
    t.is((await fetch(`${gh.issuer}/jwks`)).status, 200);

    // Run again, it refuses to replace the keys in use.
    const again = shell(line, dir);
    t.not(again.status, 0);
    t.regex(again.stderr, /jwks\.json exists already: not overwritten/);
    t.is(readFileSync(file, 'utf8'), text);
  });
}

test('files a user is told to create are ignored by git', (t) => {
  for (const name of [
    'jwks.json',
    'prod.jwks.json',
    'client-secret.txt',
    'tls.pem',
    'tls.key',
    '.env',
    '.env.production',
  ]) {
    const run = spawnSync('git', ['check-ignore', '-q', name], { cwd: root });
    t.is(run.status, 0, `${name} is gitignored`);
  }
  t.is(
    spawnSync('git', ['check-ignore', '-q', 'docs/examples/clients/web-app.json'], { cwd: root }).status,
    1,
    'the shipped examples are not',
  );
});

test('lint ignores a jwks.json or client.json left in the checkout, and still checks the project', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-lint-'));
  copyFileSync(join(root, 'biome.json'), join(dir, 'biome.json'));
  writeFileSync(join(dir, 'package.json'), '{\n  "name": "x"\n}\n');
  // What `npm run cli -- keys generate > jwks.json` used to leave: npm's banner in front of the JSON.
  writeFileSync(
    join(dir, 'jwks.json'),
    '\n> gatehouse@0.1.0 cli\n> node src/cli/main.ts keys generate\n\n{ "keys": [] }\n',
  );
  writeFileSync(join(dir, 'client.json'), '{ "client_id": "x", }\n');
  const biome = join(root, 'node_modules/.bin/biome');
  const clean = spawnSync(biome, ['check', '.'], { cwd: dir, encoding: 'utf8' });
  t.is(clean.status, 0, clean.stdout + clean.stderr);
  // The same broken JSON where the project's own files live is still reported.
  writeFileSync(join(dir, 'tsconfig.json'), '{ "compilerOptions": }\n');
  const caught = spawnSync(biome, ['check', '.'], { cwd: dir, encoding: 'utf8' });
  t.not(caught.status, 0);
});
