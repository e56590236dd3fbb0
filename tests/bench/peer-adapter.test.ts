/**
 * The bench's peer adapter (bench/peer/redis-adapter.ts) keeps the adapter contract oidc-provider relies on, on a
 * real redis-server: a peer that lost records or failed to revoke would make every ratio against it meaningless.
 */
import test, { type ExecutionContext } from 'ava';
import { Redis } from 'ioredis';
import { PeerRedisAdapter } from '../../bench/peer/redis-adapter.ts';
import { startRedis } from '../helpers/redis.ts';

async function connect(t: ExecutionContext): Promise<Redis> {
  const server = await startRedis(t);
  const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
  t.teardown(() => redis.disconnect());
  return redis;
}

test('upsert then find returns the payload, with the TTL set on the record and its grant index', async (t) => {
  const redis = await connect(t);
  const tokens = new PeerRedisAdapter('RefreshToken', redis);
  await tokens.upsert('rt1', { jti: 'rt1', grantId: 'g1', kind: 'RefreshToken' }, 300);
  t.deepEqual(await tokens.find('rt1'), { jti: 'rt1', grantId: 'g1', kind: 'RefreshToken' });
  t.true((await redis.ttl('RefreshToken:rt1')) > 290);
  t.true((await redis.ttl('grant:g1')) > 290);
  t.deepEqual(await redis.smembers('grant:g1'), ['RefreshToken:rt1']);
  t.is(await tokens.find('missing'), undefined);
});

test('consume marks a consumable record consumed and find reports it', async (t) => {
  const redis = await connect(t);
  const codes = new PeerRedisAdapter('AuthorizationCode', redis);
  await codes.upsert('c1', { jti: 'c1', grantId: 'g1' }, 60);
  t.is((await codes.find('c1'))?.consumed, undefined);
  await codes.consume('c1');
  const consumed = (await codes.find('c1'))?.consumed;
  t.is(typeof consumed, 'number');
  t.true(Math.abs((consumed as number) - Date.now() / 1000) < 60);
});

test('revokeByGrantId deletes every record of the grant and its index, and nothing of another grant', async (t) => {
  const redis = await connect(t);
  const rts = new PeerRedisAdapter('RefreshToken', redis);
  const ats = new PeerRedisAdapter('AccessToken', redis);
  await rts.upsert('rt1', { jti: 'rt1', grantId: 'g1' }, 300);
  await rts.upsert('rt2', { jti: 'rt2', grantId: 'g1' }, 300);
  await ats.upsert('at1', { jti: 'at1', grantId: 'g1' }, 300);
  await rts.upsert('other', { jti: 'other', grantId: 'g2' }, 300);
  await rts.revokeByGrantId('g1');
  t.is(await rts.find('rt1'), undefined);
  t.is(await rts.find('rt2'), undefined);
  t.is(await ats.find('at1'), undefined);
  t.is(await redis.exists('grant:g1'), 0);
  t.deepEqual(await rts.find('other'), { jti: 'other', grantId: 'g2' });
});

test('findByUid finds a session by its uid; destroy removes the record', async (t) => {
  const redis = await connect(t);
  const sessions = new PeerRedisAdapter('Session', redis);
  await sessions.upsert('s1', { jti: 's1', uid: 'u1', accountId: 'a' }, 300);
  t.deepEqual(await sessions.findByUid('u1'), { jti: 's1', uid: 'u1', accountId: 'a' });
  t.is(await sessions.findByUid('nope'), undefined);
  await sessions.destroy('s1');
  t.is(await sessions.find('s1'), undefined);
  t.is(await sessions.findByUid('u1'), undefined);
});
