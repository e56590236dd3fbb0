import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { ConfigError } from '../../src/config/errors.ts';
import { loadConfig } from '../../src/config/load.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'gatehouse-config-'));

function rejects(
  t: import('ava').ExecutionContext,
  env: NodeJS.ProcessEnv,
  key: RegExp,
  overrides: Record<string, unknown> = {},
) {
  const err = t.throws(() => loadConfig({ env, overrides }), { instanceOf: ConfigError });
  t.is(err?.code, 'CONFIG_INVALID');
  t.regex(err?.message ?? '', key);
}

test('defaults load, are typed and frozen', (t) => {
  const config = loadConfig({ env: {} });
  t.is(config.port, 3000);
  t.is(config.issuer, 'http://localhost:3000');
  t.is(config.ttl.accessToken, 900);
  t.is(config.ttl.refreshTokenIdle, 7 * 86400);
  t.is(config.ttl.refreshTokenAbsolute, 30 * 86400);
  t.is(config.argon2.memoryCost, 19456);
  t.is(config.signing.idTokenAlg, 'RS256');
  t.false(config.production);
  t.true(Object.isFrozen(config));
  t.true(Object.isFrozen(config.ttl));
  t.throws(() => {
    (config as { port: number }).port = 1;
  });
});

test('environment variables override the file, with types converted', (t) => {
  const config = loadConfig({
    env: {
      PORT: '8080',
      ISSUER: 'https://id.example.com',
      TRUST_PROXY: 'true',
      COOKIE_KEYS: `${'a'.repeat(32)},${'b'.repeat(40)}`,
      REFRESH_REUSE_INTERVAL: '0',
    },
  });
  t.is(config.port, 8080);
  t.is(config.issuer, 'https://id.example.com');
  t.true(config.trustProxy);
  t.deepEqual(config.cookieKeys, ['a'.repeat(32), 'b'.repeat(40)]);
  t.is(config.refreshTokens.reuseIntervalSeconds, 0);
});

test('CONFIG_FILE is merged over the defaults', (t) => {
  const file = join(tmp(), 'c.json');
  writeFileSync(
    file,
    JSON.stringify({
      ttl: { accessToken: 60 },
      clients: [{ client_id: 'a', redirect_uris: ['https://a.example/cb'] }],
    }),
  );
  const config = loadConfig({ env: { CONFIG_FILE: file } });
  t.is(config.ttl.accessToken, 60);
  t.is(config.ttl.idToken, 3600, 'untouched siblings keep their defaults');
  t.is(config.clients[0]?.client_id, 'a');
});

test('a bad value names its key and the problem', (t) => {
  rejects(t, { PORT: 'eighty' }, /^port \(PORT\): must be an integer/);
  rejects(t, { PORT: '70000' }, /^port \(PORT\): must be between 0 and 65535/);
  rejects(t, { ISSUER: 'not a url' }, /^issuer \(ISSUER\): must be an absolute URL/);
  rejects(t, { ISSUER: 'ftp://x.example' }, /^issuer \(ISSUER\): must be an http\(s\) URL/);
  rejects(t, { ISSUER: 'https://x.example/?a=b' }, /^issuer \(ISSUER\): must not have a query/);
  rejects(t, { TRUST_PROXY: 'maybe' }, /^trustProxy \(TRUST_PROXY\): must be true or false/);
  rejects(
    t,
    { HSTS_MAX_AGE_SECONDS: '86400' },
    /^hsts.maxAgeSeconds \(HSTS_MAX_AGE_SECONDS\): must be between 31536000/,
  );
  rejects(t, { LOG_LEVEL: 'loud' }, /^logLevel \(LOG_LEVEL\): must be one of/);
  rejects(t, { COOKIE_KEYS: 'short' }, /^cookieKeys \(COOKIE_KEYS\): every key must be at least 32 characters/);
  rejects(
    t,
    { REDIS_MODE: 'cluster' },
    /^redis.clusterNodes \(REDIS_CLUSTER_NODES\): cluster mode needs at least one node/,
  );
  rejects(t, { REDIS_MODE: 'sentinel' }, /^redis.sentinels/);
  rejects(
    t,
    { REDIS_URL: 'http://127.0.0.1:6379' },
    /^redis.url \(REDIS_URL\): must be a redis:\/\/ or rediss:\/\/ URL/,
  );
  rejects(t, { REDIS_KEY_PREFIX: 'gh{x}:' }, /^redis.keyPrefix \(REDIS_KEY_PREFIX\): may not contain \{ or \}/);
  rejects(t, { REFRESH_TOKEN_IDLE_TTL: String(40 * 86400) }, /^ttl.refreshTokenIdle/);
  rejects(t, {}, /^ttl.accessToken \(ACCESS_TOKEN_TTL\): must be between 1/, { 'ttl.accessToken': 0 });
  rejects(t, {}, /^resourceServers\[0\].identifier/, { resourceServers: [{ identifier: 'nope', scopes: [] }] });
  rejects(t, {}, /^resourceServers: at most one/, {
    resourceServers: [
      { identifier: 'https://a.example', scopes: ['a'], default: true },
      { identifier: 'https://b.example', scopes: ['b'], default: true },
    ],
  });
  rejects(t, {}, /^clients\[1\].client_id: duplicate/, { clients: [{ client_id: 'x' }, { client_id: 'x' }] });
});

test('a bad config file is reported by name', (t) => {
  const dir = tmp();
  writeFileSync(join(dir, 'bad.json'), '{ not json');
  writeFileSync(join(dir, 'array.json'), '[]');
  writeFileSync(join(dir, 'unknown.json'), '{"prot": 1}');
  rejects(t, { CONFIG_FILE: join(dir, 'bad.json') }, /^CONFIG_FILE: .*bad.json is not valid JSON/);
  rejects(t, { CONFIG_FILE: join(dir, 'array.json') }, /^CONFIG_FILE: .* must hold a JSON object/);
  rejects(t, { CONFIG_FILE: join(dir, 'unknown.json') }, /^prot: unknown setting/);
  rejects(t, { CONFIG_FILE: join(dir, 'missing.json') }, /^CONFIG_FILE: cannot read .*\(ENOENT\)/);
});

test('production refuses the in-memory store, generated keys, missing cookie keys and an http issuer', (t) => {
  const good = {
    NODE_ENV: 'production',
    REDIS_URL: 'redis://127.0.0.1:6390',
    JWKS_FILE: '/etc/gatehouse/jwks.json',
    COOKIE_KEYS: 'k'.repeat(32),
    ISSUER: 'https://id.example.com',
    METRICS_TOKEN: 'a-metrics-bearer-token',
    SMTP_URL: 'smtps://gatehouse:secret@mail.example.com:465',
  };
  t.true(loadConfig({ env: good }).production);
  rejects(t, { ...good, SMTP_URL: '' }, /^mail.smtpUrl \(SMTP_URL\): production needs a mail transport/);
  t.notThrows(
    () => loadConfig({ env: { ...good, SMTP_URL: '', PASSWORD_RESET_ENABLED: 'false' } }),
    'no mail needed without reset and sign-up',
  );
  rejects(t, { ...good, REDIS_URL: '' }, /^redis.url \(REDIS_URL\): production refuses the in-memory store/);
  rejects(t, { ...good, JWKS_FILE: '' }, /^jwksFile \(JWKS_FILE\): production refuses generated signing keys/);
  rejects(t, { ...good, COOKIE_KEYS: '' }, /^cookieKeys \(COOKIE_KEYS\): production requires/);
  rejects(t, { ...good, ISSUER: 'http://id.example.com' }, /^issuer \(ISSUER\): production requires an https issuer/);
  t.notThrows(() => loadConfig({ env: { ...good, ISSUER: 'http://localhost:3000' } }), 'http is allowed for localhost');
  // /metrics: a token, a separate listener, or none at all.
  rejects(
    t,
    { ...good, METRICS_TOKEN: '' },
    /^metrics.token \(METRICS_TOKEN\) or metrics.port \(METRICS_PORT\): production refuses an open \/metrics/,
  );
  t.notThrows(() => loadConfig({ env: { ...good, METRICS_TOKEN: '', METRICS_PORT: '9464' } }));
  t.notThrows(() => loadConfig({ env: { ...good, METRICS_TOKEN: '', METRICS_ENABLED: 'false' } }));
  rejects(t, { ...good, METRICS_PORT: '3000', PORT: '3000' }, /^metrics.port \(METRICS_PORT\): must differ from port/);
});
