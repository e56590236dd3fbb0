import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { ConfigError } from '../../src/config/errors.ts';
import { loadConfig } from '../../src/config/load.ts';
import { readJwksFile, RotationError } from '../../src/provider/key-rotation.ts';
import { generateJwks, loadCookieKeys, loadKeys } from '../../src/provider/keys.ts';

const dir = () => mkdtempSync(join(tmpdir(), 'gatehouse-keys-'));

test('development keys are generated once and kept across restarts', async (t) => {
  const dataDir = dir();
  const config = loadConfig({ env: {}, overrides: { dataDir } });
  const first = await loadKeys(config);
  const second = await loadKeys(config);
  t.deepEqual(first, second);
  t.deepEqual(first.keys.map((k) => k.alg).sort(), ['ES256', 'EdDSA', 'RS256']);
  t.is(statSync(join(dataDir, 'dev-jwks.json')).mode & 0o777, 0o600);
  t.deepEqual(loadCookieKeys(config), loadCookieKeys(config));
});

test('a supplied JWKS is validated: private, unique kids, known algs, RS256 present', async (t) => {
  const good = await generateJwks();
  const file = join(dir(), 'jwks.json');
  writeFileSync(file, JSON.stringify(good));
  t.deepEqual(await loadKeys(loadConfig({ env: { JWKS_FILE: file } })), good);
  t.deepEqual(await loadKeys(loadConfig({ env: { JWKS: readFileSync(file, 'utf8') } })), good);

  const cases: Array<[unknown, RegExp]> = [
    [{ keys: 'x' }, /must be a JWKS object/],
    [{ keys: [{ ...good.keys[0], kid: '' }] }, /has no kid/],
    [{ keys: [good.keys[0], { ...good.keys[1], kid: good.keys[0]?.kid }] }, /repeats kid/],
    [{ keys: good.keys.map(({ d: _d, ...pub }) => pub) }, /is not a private key/],
    [{ keys: [{ ...good.keys[0], alg: 'HS256' }] }, /needs alg/],
    [{ keys: good.keys.filter((k) => k.alg !== 'RS256') }, /needs an RS256 key/],
  ];
  for (const [jwks, message] of cases) {
    await t.throwsAsync(loadKeys(loadConfig({ env: { JWKS: JSON.stringify(jwks) } })), {
      instanceOf: ConfigError,
      message,
    });
  }
  await t.throwsAsync(loadKeys(loadConfig({ env: { JWKS: '{' } })), {
    instanceOf: ConfigError,
    message: /^jwks \(JWKS\): not valid JSON/,
  });
  await t.throwsAsync(loadKeys(loadConfig({ env: { JWKS_FILE: join(dir(), 'none.json') } })), {
    instanceOf: ConfigError,
    message: /ENOENT/,
  });
});

test('a key file the rotation cannot use is refused with a stable code', (t) => {
  const d = dir();
  t.throws(() => readJwksFile(join(d, 'missing.json')), {
    instanceOf: RotationError,
    code: 'KEY_ROTATION_REFUSED',
    message: /cannot read/,
  });
  writeFileSync(join(d, 'broken.json'), '{');
  t.throws(() => readJwksFile(join(d, 'broken.json')), {
    instanceOf: RotationError,
    code: 'KEY_ROTATION_REFUSED',
    message: /not valid JSON/,
  });
});
