/**
 * Gatehouse on a 3-master Redis Cluster, over real HTTP: sign-in, code exchange, 20 simultaneous refreshes within
 * the reuse interval, and reuse outside it revoking the family — every script runs in one slot.
 */
import test from 'ava';
import { startRedisCluster } from '../helpers/redis-cluster.ts';
import { authorize, discover, exchangeCode, refresh, sharedSettings, startRedisGatehouse } from './redis-gatehouse.ts';

test('on Redis Cluster: code flow, 20 simultaneous refreshes in grace, reuse after it revokes the family', async (t) => {
  const cluster = await startRedisCluster(t);
  const gh = await startRedisGatehouse(t, '', await sharedSettings(), {
    'redis.mode': 'cluster',
    'redis.clusterNodes': cluster.nodes,
    'refreshTokens.reuseIntervalSeconds': 1,
  });
  const config = await discover(gh);
  const { code, verifier } = await authorize(gh, config);
  const first = await exchangeCode(gh.issuer, code, verifier);
  t.is(first.status, 200);
  const rt = first.body.refresh_token as string;
  const results = await Promise.all(Array.from({ length: 20 }, () => refresh(gh.issuer, rt)));
  t.deepEqual(
    results.map((r) => r.status),
    Array(20).fill(200),
  );
  await new Promise((r) => setTimeout(r, 1100));
  const replay = await refresh(gh.issuer, rt);
  t.is(replay.status, 400);
  t.is(replay.body.error, 'invalid_grant');
  const successor = await refresh(gh.issuer, results[3]?.body.refresh_token as string);
  t.is(successor.status, 400, 'the family is revoked');
  t.true(gh.logs.some((l) => l.audit === 'refresh_token.reuse_detected'));
});
