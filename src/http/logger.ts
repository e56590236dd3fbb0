/**
 * Structured JSON logs (pino), one JSON object per line on stdout, level from `LOG_LEVEL`. There is no pretty
 * mode: pino-pretty is not a dependency; pipe through `npx pino-pretty` (or `jq`) when reading logs by hand.
 *
 * Rules:
 * - Redaction is by path for the places secrets can appear in our own log calls (passwords, tokens, client
 *   secrets, cookies, authorization headers, OAuth codes), with `[redacted]` in their place.
 * - An OAuth authorization `code` is redacted at the top level and inside the containers a request's
 *   parameters travel in (`query`, `body`, `params`, `form`, and those under `req`), but not as `err.code`:
 *   Node's and Redis's error codes (`ECONNRESET`, `ERR_…`) must stay readable in error logs.
 * - Request logging records method, path (never the query string, which can carry codes and tokens), status
 *   and duration only (src/http/request-context.ts), and audit lines only their fixed string fields
 *   (src/audit/audit.ts). Those fields are safe by construction, so the access log and the audit trail
 *   (`unredacted`) skip the redaction walk that every other line pays.
 * - On stdout lines are buffered (up to 15 KiB, under sonic-boom's 16 KiB largest write) and written at the latest every half second, when the buffer is
 *   full, when the process stops (`flush`) or exits: one write for many lines instead of one per line. A process
 *   killed with SIGKILL loses at most that last half second of lines.
 */
import pino, { type Logger } from 'pino';

export const REDACT_PATHS = [
  'password',
  '*.password',
  'token',
  '*.token',
  'refresh_token',
  '*.refresh_token',
  'access_token',
  '*.access_token',
  'code',
  'query.code',
  'body.code',
  'params.code',
  'form.code',
  'req.query.code',
  'req.body.code',
  'client_secret',
  '*.client_secret',
  'cookie',
  '*.cookie',
  'authorization',
  '*.authorization',
  'req.headers.cookie',
  'req.headers.authorization',
];

const FLUSH_EVERY_MS = 500;

/** Buffered stdout, flushed on a timer and when the process exits. */
function bufferedStdout(): pino.DestinationStream {
  const out = pino.destination({ dest: 1, sync: false, minLength: 15 * 1024 });
  const timer = setInterval(() => out.flush(), FLUSH_EVERY_MS);
  timer.unref();
  process.once('exit', () => {
    clearInterval(timer);
    try {
      out.flushSync();
    } catch {
      // Nothing more can be done for the last lines of a process that is going away.
    }
  });
  return out;
}

export function createLogger(level: string, destination: pino.DestinationStream = bufferedStdout()): Logger {
  return pino(
    { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { service: 'gatehouse' } },
    destination,
  );
}

/**
 * For lines whose fields carry no secret by construction (access log, audit): the same logger and destination,
 * without redaction.
 */
export function unredacted(log: Logger): Logger {
  return log.child({}, { redact: { paths: [] } });
}
