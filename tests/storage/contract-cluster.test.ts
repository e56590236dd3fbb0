import test from 'ava';
import { startRedisCluster, type TestRedisCluster } from '../helpers/redis-cluster.ts';
import { contractSuite } from './contract.ts';
import { redisFixture } from './redis-fixture.ts';

let cluster: TestRedisCluster;
test.before(async () => {
  cluster = await startRedisCluster();
});
test.after.always(async () => {
  await cluster?.stop();
});

contractSuite(test, 'redis cluster', (reuse, t) => redisFixture(t, { mode: 'cluster', clusterNodes: cluster.nodes }, reuse));
