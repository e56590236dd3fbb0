import test from 'ava';
import { startRedisCluster, type TestRedisCluster } from '../helpers/redis-cluster.ts';
import { accountRecordsSuite, contractSuite, type MakeFixture } from './contract.ts';
import { redisFixture } from './redis-fixture.ts';

let cluster: TestRedisCluster;
test.before(async () => {
  cluster = await startRedisCluster();
});
test.after.always(async () => {
  await cluster?.stop();
});

const fixture: MakeFixture = (reuse, t) => redisFixture(t, { mode: 'cluster', clusterNodes: cluster.nodes }, reuse);
contractSuite(test, 'redis cluster', fixture);
accountRecordsSuite(test, 'redis cluster', fixture);
