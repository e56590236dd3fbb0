#!/usr/bin/env node
// The `gatehouse` command: runs the CLI with the project's pinned Node (node_modules/.bin/node) when present.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pinned = join(root, 'node_modules', 'node', 'bin', 'node');
const compiled = join(root, 'dist', 'cli', 'main.js');
const entry = existsSync(compiled) ? compiled : join(root, 'src', 'cli', 'main.ts');
const node = existsSync(pinned) ? pinned : process.execPath;
const result = spawnSync(node, [entry, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(result.status ?? 1);
