/**
 * Turns a Redis failure into StorageUnavailable (503 temporarily_unavailable, Retry-After) when it means "Redis
 * is not serving right now": connection closed or not yet open, timeout, retries exhausted, cluster down or
 * failing over. A reply error from a script or command otherwise is a bug in Gatehouse and stays a 500.
 * Errors that are not Redis' (oidc-provider's InvalidGrant, StorageConflict) pass through untouched.
 */
import { errors } from 'oidc-provider';
import { StorageConflict, StorageUnavailable } from '../types.ts';

const TRANSIENT_REPLY = /^(CLUSTERDOWN|LOADING|MASTERDOWN|TRYAGAIN|READONLY|BUSY|NOREPLICAS|MOVED|ASK)\b/;

export function toStorageError(err: unknown): unknown {
  if (err instanceof StorageUnavailable || err instanceof StorageConflict || err instanceof errors.OIDCProviderError) return err;
  const e = err as { name?: string; message?: string };
  if (e?.name === 'ReplyError' && !TRANSIENT_REPLY.test(e.message ?? '')) return err;
  // Programming errors in Gatehouse itself are not outages.
  if (err instanceof TypeError || err instanceof SyntaxError || err instanceof RangeError || err instanceof ReferenceError) return err;
  if (err instanceof Error) return new StorageUnavailable(`Redis: ${err.message}`, { cause: err });
  return err;
}

/** Runs one storage operation, mapping Redis failures as above. */
export async function guarded<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw toStorageError(err);
  }
}
