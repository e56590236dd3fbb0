/**
 * Redis refusing writes (out of memory) during a refresh: the client gets 503 temporarily_unavailable, the token
 * it presented is not lost, and no log line carries what ioredis attaches to the error (the command's arguments:
 * the refresh token, its payload, an account with its password hash).
 */
import test from 'ava';
import type { Redis } from 'ioredis';
import type { RedisStore } from '../../src/storage/redis-store.ts';
import { findLeaks } from '../helpers/leaks.ts';
import { startRedis } from '../helpers/redis.ts';
import {
  authorize,
  discover,
  exchangeCode,
  refresh,
  sharedSettings,
  startRedisGatehouse,
  USER,
} from './redis-gatehouse.ts';

test('Redis out of memory: 503, the token survives, and no command argument reaches a log line', async (t) => {
  const redis = await startRedis(t);
  const gh = await startRedisGatehouse(t, redis.url, await sharedSettings());
  const { code, verifier } = await authorize(gh, await discover(gh));
  const first = await exchangeCode(gh.issuer, code, verifier);
  t.is(first.status, 200);
  const rt = first.body.refresh_token as string;
  const client = (gh.gatehouse.store as RedisStore).client as Redis;
  const account = await gh.gatehouse.store.accounts.findByUsername(USER.username);
  await client.config('SET', 'maxmemory', '1');
  const refused = await refresh(gh.issuer, rt);
  await client.config('SET', 'maxmemory', '0');
  t.is(refused.status, 503, JSON.stringify(refused.body));
  t.is(refused.body.error, 'temporarily_unavailable');
  const errorLines = gh.logs.filter((l) => l.level === 50 || l.err !== undefined);
  t.true(errorLines.length > 0, 'the outage is logged');
  t.deepEqual(
    findLeaks(gh.logs, {
      refreshToken: rt,
      passwordHash: account?.passwordHash ?? 'missing',
      grant: JSON.stringify(first.body.id_token),
    }),
    [],
  );
  t.false(JSON.stringify(gh.logs).includes('"args"'), 'no command arguments in any log line');
  const after = await refresh(gh.issuer, rt);
  t.is(after.status, 200, 'the refused request consumed nothing');
});
