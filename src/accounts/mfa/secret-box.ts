/**
 * Seals the TOTP secrets kept in account records: AES-256-GCM under a key derived (HKDF-SHA-256) from each cookie
 * key. The first cookie key seals; every listed key may open, so rotating cookie keys keeps secrets readable while
 * the old key stays in the list. A reader of the store alone (a backup, a Redis replica) learns no secret.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const INFO = 'gatehouse totp secret v1';

export interface SecretBox {
  seal(plain: string): string;
  /** The plain text, or undefined when no key opens it. */
  open(sealed: string): string | undefined;
}

export function createSecretBox(cookieKeys: readonly string[]): SecretBox {
  const keys = cookieKeys.map((k) => Buffer.from(hkdfSync('sha256', k, 'gatehouse', INFO, 32)));
  const [sealing] = keys;
  if (!sealing) throw new Error('no cookie key to seal secrets with');
  return {
    seal(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', sealing, iv);
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
    },
    open(sealed) {
      const raw = Buffer.from(sealed, 'base64url');
      for (const key of keys) {
        try {
          const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
          decipher.setAuthTag(raw.subarray(12, 28));
          return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
        } catch {
          // Sealed under another key of the list.
        }
      }
      return undefined;
    },
  };
}
