/**
 * Structured logs: JSON lines, the level from config, a request id per request (taken from a well-formed
 * X-Request-Id or generated, and returned), OAuth codes redacted where request parameters travel while error
 * codes (`err.code`, e.g. ECONNRESET) stay readable.
 */
import { Writable } from 'node:stream';
import test from 'ava';
import { AUDIT_FIELDS, createAudit } from '../../src/audit/audit.ts';
import { createLogger, REDACT_PATHS } from '../../src/http/logger.ts';
import { startGatehouse } from '../helpers/gatehouse.ts';

function capture(level = 'info') {
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger(
    level,
    new Writable({ write: (chunk, _e, cb) => cb(void lines.push(JSON.parse(String(chunk)))) }),
  );
  return { log, lines };
}

test('err.code survives redaction; an OAuth code in query, body, params or form does not', (t) => {
  const { log, lines } = capture();
  log.error({ err: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) }, 'upstream failed');
  log.info(
    {
      code: 'c-1',
      query: { code: 'c-2' },
      body: { code: 'c-3' },
      params: { code: 'c-4' },
      form: { code: 'c-5' },
      req: { query: { code: 'c-6' }, body: { code: 'c-7' } },
    },
    'x',
  );
  t.is((lines[0]!.err as { code?: string }).code, 'ECONNRESET');
  t.is((lines[0]!.err as { message?: string }).message, 'socket hang up');
  t.notRegex(JSON.stringify(lines[1]), /c-\d/);
  t.is((lines[1]!.query as { code: string }).code, '[redacted]');
});

test('audit lines go without redaction: none of their fields is a name the logger redacts, and each is a string', (t) => {
  const redacted = new Set(REDACT_PATHS.map((p) => p.split('.').at(-1)));
  for (const name of ['audit', 'requestId', ...AUDIT_FIELDS]) t.false(redacted.has(name), name);
  const { log, lines } = capture();
  createAudit(log)('token.issued', { clientId: { token: 'secret-1' }, sub: 'alice', reason: ['secret-2'] });
  t.like(lines[0], { audit: 'token.issued', sub: 'alice' });
  t.notRegex(JSON.stringify(lines), /secret-/);
});

test('every request gets an id: a well-formed X-Request-Id is kept, anything else is replaced, and the access log has it', async (t) => {
  const gh = await startGatehouse(t);
  const kept = await fetch(`${gh.issuer}/healthz`, { headers: { 'x-request-id': 'lb-1234.abc' } });
  t.is(kept.headers.get('x-request-id'), 'lb-1234.abc');
  const replaced = await fetch(`${gh.issuer}/healthz`, { headers: { 'x-request-id': 'not ok <script>' } });
  t.regex(replaced.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  const generated = await fetch(`${gh.issuer}/healthz`);
  t.regex(generated.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  const access = gh.logs.filter((l) => l.msg === 'request');
  t.deepEqual(
    access.map((l) => l.reqId),
    ['lb-1234.abc', replaced.headers.get('x-request-id'), generated.headers.get('x-request-id')],
  );
  for (const l of access) t.like(l, { level: 30, service: 'gatehouse', method: 'GET', path: '/healthz', status: 200 });
});

test('the level comes from config: at warn, no access or audit lines', async (t) => {
  const gh = await startGatehouse(t, { logLevel: 'warn' });
  await fetch(`${gh.issuer}/healthz`);
  await fetch(`${gh.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials&client_id=nobody&client_secret=x',
  });
  t.deepEqual(gh.logs, []);
});
