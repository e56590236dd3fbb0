/**
 * Signing-key rotation without downtime, as three edits of a private JWKS file (driven by `gatehouse keys rotate`).
 * oidc-provider signs with the FIRST key of the JWKS for an algorithm and publishes them all, so order is state:
 *
 *   add     — a new key per algorithm, appended AFTER the current one: published, not yet signing.
 *   promote — the newest key of each algorithm moves first (it signs); the previous signer stays published and is
 *             stamped `retire_after` = now + the longest lifetime of anything it signed (access, client-credentials,
 *             ID tokens, every resource server's TTL).
 *   retire  — removes demoted keys whose `retire_after` has passed (refuses early ones unless forced).
 *
 * Rules: each stage is a separate deployment (rolling restart of every instance between stages, see
 * docs/security.md), so at every moment every instance publishes every key any instance may sign with. The file is
 * rewritten atomically (temp file + rename) with mode 0600. Every stage re-validates the result.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Config, SigningAlg } from '../config/types.ts';
import { generateKey, type PrivateJwks, type SigningJwk, validateJwks } from './keys.ts';

/** A JWKS member Gatehouse adds to demoted keys: when (unix seconds) no token signed by it can still be valid. */
const RETIRE_AFTER = 'retire_after';

type Key = SigningJwk & { [RETIRE_AFTER]?: number };

/** A rotation step that would break tokens in use, or a key file it cannot use; the message says which. */
export class RotationError extends Error {
  readonly code = 'KEY_ROTATION_REFUSED';
  override name = 'RotationError';
}

export function readJwksFile(path: string): PrivateJwks {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new RotationError(`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    return validateJwks(JSON.parse(text), path);
  } catch (err) {
    throw new RotationError(err instanceof SyntaxError ? `${path} is not valid JSON` : (err as Error).message);
  }
}

export function writeJwksFile(path: string, jwks: PrivateJwks): void {
  validateJwks(jwks, path);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(jwks, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

/** The longest time a signed token may stay valid, in seconds. */
export function longestSignedLifetime(config: Config): number {
  const rs = config.resourceServers.map((r) => r.accessTokenTTL ?? 0);
  return Math.max(config.ttl.accessToken, config.ttl.clientCredentials, config.ttl.idToken, ...rs);
}

const algsOf = (keys: Key[]) => [...new Set(keys.map((k) => k.alg as SigningAlg))];

function selected(keys: Key[], algs: readonly SigningAlg[] | undefined): SigningAlg[] {
  const present = algsOf(keys);
  if (!algs || algs.length === 0) return present;
  for (const a of algs) if (!present.includes(a)) throw new RotationError(`no ${a} key in the file to rotate`);
  return [...algs];
}

export async function stageAdd(
  jwks: PrivateJwks,
  algs?: readonly SigningAlg[],
): Promise<{ jwks: PrivateJwks; added: string[] }> {
  const keys = jwks.keys as Key[];
  const out: Key[] = [...keys];
  const added: string[] = [];
  for (const alg of selected(keys, algs)) {
    const pending = keys.filter((k) => k.alg === alg);
    if (pending.length > 1 && pending.slice(1).some((k) => k[RETIRE_AFTER] === undefined)) {
      throw new RotationError(`${alg} already has a new key waiting: promote it first`);
    }
    const key = await generateKey(alg);
    // Right after the current signer: published, but never first, so it does not sign yet.
    out.splice(out.indexOf(pending[0] as Key) + 1, 0, key);
    added.push(key.kid);
  }
  return { jwks: { keys: out }, added };
}

export function stagePromote(
  jwks: PrivateJwks,
  lifetimeSeconds: number,
  now: number,
  algs?: readonly SigningAlg[],
): { jwks: PrivateJwks; promoted: string[] } {
  let keys = [...(jwks.keys as Key[])];
  const promoted: string[] = [];
  for (const alg of selected(keys, algs)) {
    const ofAlg = keys.filter((k) => k.alg === alg);
    const waiting = ofAlg.slice(1).find((k) => k[RETIRE_AFTER] === undefined);
    if (!waiting) throw new RotationError(`${alg} has no new key to promote: run "keys rotate add" first`);
    const current = ofAlg[0] as Key;
    const demoted: Key = { ...current, [RETIRE_AFTER]: now + lifetimeSeconds };
    const rest = keys.filter((k) => k !== waiting && k !== current);
    const firstOfAlg = keys.indexOf(current);
    keys = [...rest.slice(0, firstOfAlg), waiting, demoted, ...rest.slice(firstOfAlg)];
    promoted.push(waiting.kid);
  }
  return { jwks: { keys }, promoted };
}

export function stageRetire(
  jwks: PrivateJwks,
  now: number,
  force: boolean,
): { jwks: PrivateJwks; retired: string[]; waiting: Array<{ kid: string; at: number }> } {
  const keys = jwks.keys as Key[];
  const retired: string[] = [];
  const waiting: Array<{ kid: string; at: number }> = [];
  const kept = keys.filter((k) => {
    const at = k[RETIRE_AFTER];
    if (at === undefined) return true;
    if (at <= now || force) {
      retired.push(k.kid);
      return false;
    }
    waiting.push({ kid: k.kid, at });
    return true;
  });
  return { jwks: { keys: kept }, retired, waiting };
}
