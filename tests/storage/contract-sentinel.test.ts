import test from 'ava';
import { startRedisSentinel, type TestRedisSentinel } from '../helpers/redis-sentinel.ts';
import { contractSuite } from './contract.ts';
import { redisFixture } from './redis-fixture.ts';

let sentinel: TestRedisSentinel;
test.before(async () => {
  sentinel = await startRedisSentinel();
});
test.after.always(async () => {
  await sentinel?.stop();
});

contractSuite(test, 'redis sentinel', (reuse, t) => redisFixture(t, { mode: 'sentinel', sentinels: sentinel.sentinels, sentinelName: sentinel.name }, reuse));
