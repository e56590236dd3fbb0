/**
 * What Gatehouse relies on inside oidc-provider beyond its documented configuration, checked against the pinned
 * version so that an upgrade is a deliberate decision: when this fails, read the modules named in each test,
 * confirm the behaviour still holds (the HTTP tests named there prove it), then update the version here.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import test from 'ava';
import Provider from 'oidc-provider';

const require = createRequire(import.meta.url);
const root = dirname(require.resolve('oidc-provider/package.json'));
const PINNED = '9.13.3';

test(`oidc-provider is the version these checks were made for (${PINNED})`, (t) => {
  const installed = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
  const declared = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).dependencies['oidc-provider'];
  t.is(installed, PINNED);
  t.is(declared, PINNED);
});

// src/provider/refresh-token-ids.ts; proven over HTTP by tests/storage/refresh-lineage.test.ts.
test('refresh-token ids: generateTokenId on the prototype, RotatedRefreshToken recorded before the successor is saved', (t) => {
  t.is(typeof Object.getOwnPropertyDescriptor(Provider, 'ctx')?.get, 'function', 'Provider.ctx');
  const grant = readFileSync(join(root, 'lib/actions/grants/refresh_token.js'), 'utf8');
  const consumed = grant.indexOf('await refreshToken.consume();');
  const recorded = grant.indexOf("ctx.oidc.entity('RotatedRefreshToken', refreshToken);");
  const saved = grant.indexOf('refreshTokenValue = await refreshToken.save();');
  t.true(consumed > 0 && recorded > consumed && saved > recorded, 'consume, then record the rotated token, then save the successor');
  t.regex(grant, /grantId: refreshToken\.grantId,/);
  const base = readFileSync(join(root, 'lib/models/base_model.js'), 'utf8');
  t.regex(base, /if \(!this\.jti\) \{\s*this\.jti = this\.generateTokenId\(\);/);
  t.regex(base, /generateTokenId\(\) \{\s*return opaque\.generateTokenId\(provider, this\);/, 'a prototype method RefreshToken inherits');
  t.notRegex(readFileSync(join(root, 'lib/models/refresh_token.js'), 'utf8'), /generateTokenId/, 'not overridden by RefreshToken itself');
});

// src/storage/reuse-policy.ts REPLAY_CLAIM_MS; proven over HTTP by tests/security/replay.test.ts.
test('ReplayDetection.unique is find, then save', (t) => {
  const model = readFileSync(join(root, 'lib/models/replay_detection.js'), 'utf8');
  t.regex(model, /const found = await this\.find\(id\);\s*if \(found\) \{\s*return false;/);
});
