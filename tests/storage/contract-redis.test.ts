import test from 'ava';
import { fileRedis } from '../helpers/redis.ts';
import { accountRecordsSuite, contractSuite, type MakeFixture } from './contract.ts';
import { redisFixture } from './redis-fixture.ts';

const redis = fileRedis(test);

const fixture: MakeFixture = (reuse, t) => redisFixture(t, { url: redis.url }, reuse);
contractSuite(test, 'single redis', fixture);
accountRecordsSuite(test, 'single redis', fixture);
