import test from 'ava';
import { startRedisSentinel, type TestRedisSentinel } from '../helpers/redis-sentinel.ts';
import { accountRecordsSuite, contractSuite, type MakeFixture } from './contract.ts';
import { redisFixture } from './redis-fixture.ts';

let sentinel: TestRedisSentinel;
test.before(async () => {
  sentinel = await startRedisSentinel();
});
test.after.always(async () => {
  await sentinel?.stop();
});

const fixture: MakeFixture = (reuse, t) =>
  redisFixture(t, { mode: 'sentinel', sentinels: sentinel.sentinels, sentinelName: sentinel.name }, reuse);
contractSuite(test, 'redis sentinel', fixture);
accountRecordsSuite(test, 'redis sentinel', fixture);
