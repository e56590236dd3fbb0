import test from 'ava';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { accountRecordsSuite, contractSuite, type MakeFixture } from './contract.ts';
import { redisFixture } from './redis-fixture.ts';

let redis: TestRedis;
test.before(async () => {
  redis = await startRedis();
});
test.after.always(async () => {
  await redis?.stop();
});

const fixture: MakeFixture = (reuse, t) => redisFixture(t, { url: redis.url }, reuse);
contractSuite(test, 'single redis', fixture);
accountRecordsSuite(test, 'single redis', fixture);
