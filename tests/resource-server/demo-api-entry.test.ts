/**
 * `npm run demo:api` as a person runs it: the real entry point in a child process.
 */
import test from 'ava';
import { freePort, waitFor } from '../../bench/lib/processes.ts';
import { startNode } from '../helpers/child.ts';

const run = (env: NodeJS.ProcessEnv) => startNode('src/demo/api/main.ts', [], env);

test('a bad setting exits 1 and names the variable', async (t) => {
  for (const [env, name] of [
    [{ API_TOKEN_CHECK: 'maybe' }, 'API_TOKEN_CHECK'],
    [{ API_TOKEN_CHECK: 'introspection' }, 'API_CLIENT_ID'],
    [{ ISSUER: 'not a url' }, 'ISSUER'],
    [{ API_PORT: '99999' }, 'API_PORT'],
    [{ API_TOKEN_CACHE_SIZE: '-1' }, 'API_TOKEN_CACHE_SIZE'],
    [{ API_TOKEN_CACHE_SIZE: 'lots' }, 'API_TOKEN_CACHE_SIZE'],
    [{ API_TOKEN_CACHE_MAX_AGE: '0' }, 'API_TOKEN_CACHE_MAX_AGE'],
  ] as const) {
    const proc = run(env);
    t.is(await proc.exited, 1);
    t.regex(proc.err(), new RegExp(`invalid configuration: ${name}`));
  }
});

test('every bad setting is reported at once, one line each, worded as the server words it', async (t) => {
  const proc = run({ API_PORT: '99999', LOG_LEVEL: 'loud', API_DOWNSTREAM_URL: 'http://localhost:4100' });
  t.is(await proc.exited, 1);
  t.is(
    proc.err(),
    [
      'demo-api: invalid configuration (2 problems):',
      '  API_PORT: must be between 0 and 65535',
      '  LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent',
      '',
    ].join('\n'),
  );
  const rules = run({ API_TOKEN_CHECK: 'introspection', API_DOWNSTREAM_URL: 'http://localhost:4100' });
  t.is(await rules.exited, 1);
  t.is(
    rules.err(),
    [
      'demo-api: invalid configuration (2 problems):',
      '  API_CLIENT_ID / API_CLIENT_SECRET: introspection mode needs the API client credentials',
      '  API_DOWNSTREAM_URL / API_DOWNSTREAM_AUDIENCE: set both or neither',
      '',
    ].join('\n'),
  );
  t.is(proc.out() + rules.out(), '');
});

test('it listens, serves health and refuses tokenless calls, and stops on SIGTERM', async (t) => {
  const port = await freePort();
  const proc = run({ API_PORT: String(port), API_HOST: '127.0.0.1', ISSUER: 'http://127.0.0.1:9' });
  t.teardown(() => proc.kill('SIGKILL'));
  await waitFor(() => proc.out().includes('demo API listening'), 'the demo API to listen', 10_000).catch((err) => {
    throw new Error(`${err.message}: ${proc.err()}`);
  });
  t.is((await fetch(`http://127.0.0.1:${port}/api/health`)).status, 200);
  const res = await fetch(`http://127.0.0.1:${port}/api/profile`);
  t.is(res.status, 401);
  t.is(res.headers.get('www-authenticate'), 'Bearer realm="http://localhost:4000"');
  proc.kill('SIGTERM');
  t.is(await proc.exited, 0);
});
