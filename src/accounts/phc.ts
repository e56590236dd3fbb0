/**
 * argon2id hashes in the PHC string format (`$argon2id$v=19$m=<KiB>,p=<lanes>,t=<passes>$<salt>$<hash>`, base64
 * without padding) — the format of every stored password hash, the same the `argon2` npm package writes, so
 * hashes made before and after are interchangeable.
 *
 * Rules: only argon2id version 19 is accepted; parameters may come in any order; anything malformed parses to
 * undefined (a stored hash that cannot be read is a failed verification, never an exception).
 */
interface Argon2idHash {
  readonly memoryCost: number;
  readonly timeCost: number;
  readonly parallelism: number;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
const B64 = /^[A-Za-z0-9+/]+$/;

export function formatPhc(h: Argon2idHash): string {
  return `$argon2id$v=19$m=${h.memoryCost},p=${h.parallelism},t=${h.timeCost}$${b64(h.salt)}$${b64(h.hash)}`;
}

export function parsePhc(phc: string): Argon2idHash | undefined {
  const [empty, id, version, paramList, salt, hash, ...more] = phc.split('$');
  if (empty !== '' || id !== 'argon2id' || version !== 'v=19' || more.length > 0) return undefined;
  if (paramList === undefined || salt === undefined || hash === undefined) return undefined;
  const params = new Map<string, number>();
  for (const kv of paramList.split(',')) {
    const [, name, value] = /^([mtp])=(\d{1,10})$/.exec(kv) ?? [];
    if (!name || !value || params.has(name)) return undefined;
    params.set(name, Number(value));
  }
  if (!B64.test(salt) || !B64.test(hash)) return undefined;
  const [memoryCost, timeCost, parallelism] = [params.get('m'), params.get('t'), params.get('p')];
  if (!memoryCost || !timeCost || !parallelism) return undefined;
  const out = {
    memoryCost,
    timeCost,
    parallelism,
    salt: Buffer.from(salt, 'base64'),
    hash: Buffer.from(hash, 'base64'),
  };
  return out.salt.length >= 8 && out.hash.length >= 4 ? out : undefined;
}
