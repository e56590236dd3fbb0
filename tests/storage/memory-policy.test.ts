/**
 * Redis' maxmemory-policy is checked at start-up on a real redis-server: `allkeys-*` (which can evict clients and
 * accounts, stored without a TTL) is refused in production and warned about in development; `noeviction` and
 * `volatile-*` start quietly.
 */
import test from 'ava';
import { ConfigError } from '../../src/config/errors.ts';
import { generateJwks } from '../../src/provider/keys.ts';
import { startGatehouse } from '../helpers/gatehouse.ts';
import { startRedis } from '../helpers/redis.ts';

const production = async () => ({
  NODE_ENV: 'production',
  SMTP_URL: 'smtp://127.0.0.1:25',
  JWKS: JSON.stringify(await generateJwks()),
  COOKIE_KEYS: 'a-production-cookie-key-for-the-test-0123456789',
  METRICS_TOKEN: 'a-metrics-token',
});

const warned = (logs: Array<Record<string, unknown>>) =>
  logs.filter((l) => l.level === 40 && /maxmemory-policy/.test(String(l.msg)));

test('allkeys-lru: production refuses to start, naming the setting', async (t) => {
  const redis = await startRedis(t, ['--maxmemory-policy', 'allkeys-lru']);
  const err = await t.throwsAsync(
    startGatehouse(t, { 'redis.url': redis.url, 'demo.seed': false }, await production()),
    { instanceOf: ConfigError },
  );
  t.regex(
    err?.message ?? '',
    /^redis \(maxmemory-policy\): Redis maxmemory-policy is allkeys-lru: .*noeviction or a volatile-\* policy/,
  );
});

test('allkeys-random: development starts, with a warning', async (t) => {
  const redis = await startRedis(t, ['--maxmemory-policy', 'allkeys-random']);
  const gh = await startGatehouse(t, { 'redis.url': redis.url, 'demo.seed': false });
  t.is(warned(gh.logs).length, 1);
  t.is(warned(gh.logs)[0]?.maxmemoryPolicy, 'allkeys-random');
});

for (const policy of ['noeviction', 'volatile-lru', 'volatile-ttl']) {
  test(`${policy}: production starts without a warning`, async (t) => {
    const redis = await startRedis(t, ['--maxmemory-policy', policy]);
    const gh = await startGatehouse(t, { 'redis.url': redis.url, 'demo.seed': false }, await production());
    t.deepEqual(warned(gh.logs), []);
    t.is((await fetch(`${gh.issuer}/readyz`)).status, 200);
  });
}
