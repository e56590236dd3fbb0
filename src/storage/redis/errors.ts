/**
 * Turns a Redis failure into StorageUnavailable (503 temporarily_unavailable, Retry-After) when it means "Redis
 * is not serving right now": connection closed or not yet open, timeout, retries exhausted, cluster down or
 * failing over. A reply error from a script or command otherwise is a bug in Gatehouse and stays a 500.
 * Errors that are not Redis' (oidc-provider's InvalidGrant, StorageConflict) pass through untouched.
 *
 * ioredis attaches the failed command with its arguments (`command.args`: token payloads, account JSON with a
 * password hash) to its errors. No Redis error leaves this module with them: what is kept for the log is the
 * error's name, message and the command's name only.
 */
import { errors } from 'oidc-provider';
import { StorageConflict, StorageUnavailable } from '../types.ts';

const TRANSIENT_REPLY = /^(CLUSTERDOWN|LOADING|MASTERDOWN|TRYAGAIN|READONLY|BUSY|NOREPLICAS|MOVED|ASK|OOM)\b/;

/** A copy of a Redis error that carries nothing of the command but its name. */
class RedisFailure extends Error {
  override name: string;
  readonly command: string | undefined;
  constructor(err: Error & { command?: { name?: unknown } }) {
    super(err.message);
    this.name = err.name;
    this.command = typeof err.command?.name === 'string' ? err.command.name : undefined;
  }
}

function toStorageError(err: unknown): unknown {
  if (err instanceof StorageUnavailable || err instanceof StorageConflict || err instanceof errors.OIDCProviderError)
    return err;
  // Programming errors in Gatehouse itself are not outages.
  if (
    err instanceof TypeError ||
    err instanceof SyntaxError ||
    err instanceof RangeError ||
    err instanceof ReferenceError
  )
    return err;
  if (!(err instanceof Error)) return err;
  const clean = new RedisFailure(err);
  if (err.name === 'ReplyError' && !TRANSIENT_REPLY.test(err.message)) return clean;
  return new StorageUnavailable(`Redis: ${err.message}`, { cause: clean });
}

/** Runs one storage operation, mapping Redis failures as above. */
export async function guarded<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw toStorageError(err);
  }
}
