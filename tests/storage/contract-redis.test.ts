import test from 'ava';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { contractSuite } from './contract.ts';
import { redisFixture } from './redis-fixture.ts';

let redis: TestRedis;
test.before(async () => {
  redis = await startRedis();
});
test.after.always(async () => {
  await redis?.stop();
});

contractSuite(test, 'single redis', (reuse, t) => redisFixture(t, { url: redis.url }, reuse));
