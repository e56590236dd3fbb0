/**
 * Structured JSON logs (pino). Redaction is by path for the places secrets can appear in our own log calls;
 * request logging records method, path (never the query string, which can carry codes and tokens), status and
 * duration only.
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
  '*.code',
  'client_secret',
  '*.client_secret',
  'cookie',
  '*.cookie',
  'authorization',
  '*.authorization',
  'req.headers.cookie',
  'req.headers.authorization',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { service: 'gatehouse' } }, destination);
}
