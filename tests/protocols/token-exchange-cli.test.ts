/**
 * The token-exchange policy is client metadata an operator sets with `clients add --file`: a valid policy is
 * stored, one naming an unknown audience or given to a public client is refused with the reason.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { runNode } from '../helpers/child.ts';
import { startRedis } from '../helpers/redis.ts';
import { defined } from '../helpers/defined.ts';

const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const cli = (args: string[], env: NodeJS.ProcessEnv) =>
  runNode('src/cli/main.ts', args, { ARGON2_MEMORY_KIB: '1024', ARGON2_TIME_COST: '1', ...env });

test('clients add --file takes a token_exchange policy and refuses a bad one', async (t) => {
  const redis = await startRedis(t);
  const env = { REDIS_URL: redis.url };
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-tx-'));
  const write = (name: string, metadata: Record<string, unknown>) => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify({ redirect_uris: [], response_types: [], grant_types: [GRANT], ...metadata }));
    return file;
  };
  // config/default.json configures http://localhost:4000 (api:read, api:write).
  const good = await cli(
    [
      'clients',
      'add',
      '--file',
      write('good.json', {
        client_id: 'orders',
        token_exchange: { audiences: ['http://localhost:4000'], scopes: ['api:read'] },
      }),
    ],
    env,
  );
  t.is(good.code, 0, good.stderr);
  const shown = await cli(['clients', 'show', 'orders'], env);
  t.deepEqual(JSON.parse(defined(shown.stdout.split('\n(')[0], "shown.stdout.split('\n(')[0]")).token_exchange, {
    audiences: ['http://localhost:4000'],
    scopes: ['api:read'],
  });

  const unknown = await cli(
    [
      'clients',
      'add',
      '--file',
      write('unknown.json', { client_id: 'x', token_exchange: { audiences: ['https://nowhere.example'], scopes: [] } }),
    ],
    env,
  );
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /token_exchange\.audiences must name configured resource servers/);
  const shape = await cli(
    ['clients', 'add', '--file', write('shape.json', { client_id: 'y', token_exchange: ['http://localhost:4000'] })],
    env,
  );
  t.is(shape.code, 2);
  t.regex(shape.stderr, /token_exchange must be/);
  const pub = await cli(
    [
      'clients',
      'add',
      '--file',
      write('pub.json', {
        client_id: 'z',
        token_endpoint_auth_method: 'none',
        token_exchange: { audiences: ['http://localhost:4000'], scopes: ['api:read'] },
      }),
    ],
    env,
  );
  t.is(pub.code, 2);
  t.regex(pub.stderr, /confidential client/);
});
