/**
 * `keys generate [--out FILE]`: a private JWKS with one RS256, one ES256 and one EdDSA key.
 * `keys rotate add|promote|retire --file FILE [--alg ALG]... [--force]`: signing-key rotation without downtime,
 * one stage per deployment (see src/provider/key-rotation.ts and docs/security.md for the rolling-restart steps).
 */
import { writeFileSync } from 'node:fs';
import type { Config, SigningAlg } from '../../config/types.ts';
import {
  longestSignedLifetime,
  RotationError,
  readJwksFile,
  stageAdd,
  stagePromote,
  stageRetire,
  writeJwksFile,
} from '../../provider/key-rotation.ts';
import { generateJwks } from '../../provider/keys.ts';
import { CliError, type Io, onlyFlags, type ParsedArgs, single } from '../io.ts';

export const KEYS_USAGE = `keys generate [--out jwks.json]
keys rotate add --file jwks.json [--alg ES256]...      new key, published but not signing yet
keys rotate promote --file jwks.json [--alg ES256]...  the new key signs; the old one stays published
keys rotate retire --file jwks.json [--force]          drop old keys once the longest token lifetime has passed`;

/** Creates `path` readable by its owner only; an existing file is never overwritten (it may hold the live keys). */
function writeSecretFile(path: string, text: string): void {
  try {
    writeFileSync(path, text, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST')
      throw new CliError(
        `${path} exists already: not overwritten (it may hold the keys in use); choose another name or remove it first`,
      );
    throw new CliError(`cannot write ${path} (${code ?? 'error'})`);
  }
}

const ALGS: readonly SigningAlg[] = ['RS256', 'ES256', 'EdDSA'];

function algs(args: ParsedArgs): SigningAlg[] {
  const given = args.flags.get('alg') ?? [];
  for (const a of given)
    if (!ALGS.includes(a as SigningAlg)) throw new CliError(`--alg must be one of ${ALGS.join(', ')}`, 2);
  return given as SigningAlg[];
}

async function rotate(args: ParsedArgs, io: Io, config: () => Config): Promise<void> {
  const stage = args.positionals[1];
  onlyFlags(args, ['file', 'alg', 'force']);
  const file = single(args, 'file');
  if (!file || !stage) throw new CliError(`usage:\n${KEYS_USAGE}`, 2);
  const now = Math.floor(Date.now() / 1000);
  try {
    const jwks = readJwksFile(file);
    switch (stage) {
      case 'add': {
        const { jwks: next, added } = await stageAdd(jwks, algs(args));
        writeJwksFile(file, next);
        io.out(
          `added ${added.join(', ')} (published, not signing). Deploy this file to every instance, then run "keys rotate promote".`,
        );
        return;
      }
      case 'promote': {
        const lifetime = longestSignedLifetime(config());
        const { jwks: next, promoted } = stagePromote(jwks, lifetime, now, algs(args));
        writeJwksFile(file, next);
        io.out(
          `promoted ${promoted.join(', ')} (signing). Deploy this file to every instance; the old keys may be retired after ${new Date((now + lifetime) * 1000).toISOString()}.`,
        );
        return;
      }
      case 'retire': {
        if (args.flags.has('alg'))
          throw new CliError('retire takes no --alg: it retires every key whose time has come', 2);
        const { jwks: next, retired, waiting } = stageRetire(jwks, now, args.flags.has('force'));
        const notYet = waiting
          .map((w) => `${w.kid} may sign tokens valid until ${new Date(w.at * 1000).toISOString()}`)
          .join('; ');
        if (retired.length === 0 && waiting.length > 0)
          throw new CliError(`not yet: ${notYet} (--force retires it anyway)`, 3);
        if (retired.length === 0) {
          io.out('nothing to retire');
          return;
        }
        writeJwksFile(file, next);
        io.out(
          `retired ${retired.join(', ')}. Deploy this file to every instance.${waiting.length > 0 ? ` Still waiting: ${notYet}.` : ''}`,
        );
        return;
      }
      default:
        throw new CliError(`unknown stage ${stage}\nusage:\n${KEYS_USAGE}`, 2);
    }
  } catch (err) {
    if (err instanceof RotationError) throw new CliError(err.message, 2);
    throw err;
  }
}

export async function keys(args: ParsedArgs, io: Io, config: () => Config): Promise<void> {
  const action = args.positionals[0];
  switch (action) {
    case 'generate': {
      onlyFlags(args, ['out']);
      const jwks = `${JSON.stringify(await generateJwks(), null, 2)}\n`;
      const out = single(args, 'out');
      if (out) {
        writeSecretFile(out, jwks);
        io.out(`wrote ${out} (private keys, mode 0600: keep it secret)`);
      } else io.out(jwks.trimEnd());
      return;
    }
    case 'rotate':
      return rotate(args, io, config);
    default:
      throw new CliError(`usage:\n${KEYS_USAGE}`, 2);
  }
}
