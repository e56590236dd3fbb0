/**
 * What Gatehouse relies on inside oidc-provider beyond its documented configuration (src/provider/oidc-internals.ts
 * lists it), checked against the pinned version so that an upgrade is a deliberate decision: when this fails, read the modules named in each test,
 * confirm the behaviour still holds (the HTTP tests named there prove it), then update the version here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import test from 'ava';
import Koa from 'koa';
import Provider from 'oidc-provider';

const require = createRequire(import.meta.url);
const root = dirname(require.resolve('oidc-provider/package.json'));
const PINNED = '9.13.3';

test(`oidc-provider is the version these checks were made for (${PINNED})`, (t) => {
  const installed = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
  const declared = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).dependencies[
    'oidc-provider'
  ];
  t.is(installed, PINNED);
  t.is(declared, PINNED);
});

// src/provider/oidc-internals.ts point 1; proven over HTTP by tests/storage/refresh-lineage.test.ts.
test('refresh-token ids: generateTokenId on the prototype, RotatedRefreshToken recorded before the successor is saved', (t) => {
  t.is(typeof Object.getOwnPropertyDescriptor(Provider, 'ctx')?.get, 'function', 'Provider.ctx');
  const grant = readFileSync(join(root, 'lib/actions/grants/refresh_token.js'), 'utf8');
  const consumed = grant.indexOf('await refreshToken.consume();');
  const recorded = grant.indexOf("ctx.oidc.entity('RotatedRefreshToken', refreshToken);");
  const saved = grant.indexOf('refreshTokenValue = await refreshToken.save();');
  t.true(
    consumed > 0 && recorded > consumed && saved > recorded,
    'consume, then record the rotated token, then save the successor',
  );
  t.regex(grant, /grantId: refreshToken\.grantId,/);
  const base = readFileSync(join(root, 'lib/models/base_model.js'), 'utf8');
  t.regex(base, /if \(!this\.jti\) \{\s*this\.jti = this\.generateTokenId\(\);/);
  t.regex(
    base,
    /generateTokenId\(\) \{\s*return opaque\.generateTokenId\(provider, this\);/,
    'a prototype method RefreshToken inherits',
  );
  t.notRegex(
    readFileSync(join(root, 'lib/models/refresh_token.js'), 'utf8'),
    /generateTokenId/,
    'not overridden by RefreshToken itself',
  );
});

// src/storage/reuse-policy.ts REPLAY_CLAIM_MS; proven over HTTP by tests/security/replay.test.ts.
test('ReplayDetection.unique is find, then save', (t) => {
  const model = readFileSync(join(root, 'lib/models/replay_detection.js'), 'utf8');
  t.regex(model, /const found = await this\.find\(id\);\s*if \(found\) \{\s*return false;/);
});

// src/provider/oidc-internals.ts point 2 (finishInteraction); proven over HTTP by every sign-in test
// (tests/e2e/code-flow.test.ts) and the consent paths in tests/e2e/interactions.test.ts.
test('interactionResult: merge with lastSubmission unless an error, save for the remaining lifetime, go to returnTo', (t) => {
  const source = readFileSync(join(root, 'lib/provider.js'), 'utf8');
  const body =
    /async interactionResult\(req, res, result, \{ mergeWithLastSubmission = true \} = \{\}\) \{([\s\S]*?)\n {2}\}/.exec(
      source,
    )?.[1];
  t.truthy(body, 'Provider#interactionResult');
  t.is(
    (body ?? '').replace(/\s+/g, ' ').trim(),
    'const interaction = await this.#getInteraction.call(this, req, res); ' +
      "if (mergeWithLastSubmission && !('error' in result)) { interaction.result = { ...interaction.lastSubmission, ...result }; } " +
      'else { interaction.result = result; } await interaction.save(interaction.exp - epochTime()); return interaction.returnTo;',
  );
});

// src/provider/oidc-internals.ts point 3 (the early first-party Grant); proven over HTTP by the first-party tests
// in tests/e2e/interactions.test.ts.
test('the default loadExistingGrant takes the consent grantId of the interaction result first', (t) => {
  const defaults = readFileSync(join(root, 'lib/helpers/defaults.js'), 'utf8');
  t.regex(
    defaults,
    /async function loadExistingGrant\(ctx\) \{\s*const grantId = ctx\.oidc\.result\?\.consent\?\.grantId\s*\|\| ctx\.oidc\.session\.grantIdFor\(ctx\.oidc\.client\.clientId\);/,
  );
  t.regex(readFileSync(join(root, 'lib/actions/authorization/resume.js'), 'utf8'), /ctx\.oidc\.result = result;/);
  const created = readFileSync(new URL('../../src/provider/create-provider.ts', import.meta.url), 'utf8');
  t.notRegex(created, /loadExistingGrant/, 'Gatehouse keeps the default');
});

// src/provider/oidc-internals.ts point 4 (tokenPrefetch, deferred consume); proven over HTTP by
// tests/storage/refresh-lineage.test.ts and tests/storage/concurrency.test.ts.
test('refresh_token grant: finds the token, then its grant and account; no storage call between consume and save', (t) => {
  const grant = readFileSync(join(root, 'lib/actions/grants/refresh_token.js'), 'utf8');
  const found = grant.indexOf('await RefreshToken.find(refreshTokenValue, { ignoreExpiration: true });');
  const grantLoaded = grant.indexOf('await validateGrant(ctx, refreshToken.grantId);');
  const account = grant.indexOf("await validateAccount(provider, ctx, refreshToken, 'refresh token');");
  t.true(found > 0 && grantLoaded > found && account > grantLoaded, 'token, then Grant, then account');
  const consumed = grant.indexOf('await refreshToken.consume();');
  const saved = grant.indexOf('refreshTokenValue = await refreshToken.save();');
  t.true(consumed > 0 && saved > consumed);
  t.is(grant.slice(consumed, saved).match(/\bawait\b/g)?.length, 1, 'the consume is the only await before the save');
});

/** The library's JavaScript files under lib/. */
function libraryFiles(dir = join(root, 'lib')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return libraryFiles(path);
    return entry.name.endsWith('.js') ? [path] : [];
  });
}

// src/provider/oidc-internals.ts point 5 (providerMiddleware); proven over HTTP by tests/http/one-koa-context.test.ts
// and by every HTTP test (each request to the provider goes through it).
test("the provider's requests are its middleware composed by Koa: use() keeps the router last, nothing reads ctx.app", (t) => {
  for (const name of ['callback', 'handleRequest', 'createContext', 'onerror'] as const)
    t.is(
      (Provider.prototype as unknown as Record<string, unknown>)[name],
      (Koa.prototype as unknown as Record<string, unknown>)[name],
      `Provider does not override ${name}`,
    );
  const source = readFileSync(join(root, 'lib/provider.js'), 'utf8');
  t.regex(source, /export class Provider extends Koa \{/);
  t.regex(source, /this\.#exec = initializeApp\.call\(this\);\s*Koa\.prototype\.use\.call\(this, this\.#exec\);/);
  t.regex(
    source,
    /\buse\(fn\) \{\s*Koa\.prototype\.use\.call\(this, fn\);\s*this\.middleware\.splice\(this\.middleware\.indexOf\(this\.#exec\), 0, this\.middleware\.pop\(\)\);\s*return this;\s*\}/,
    'a provider.use middleware goes in before the router',
  );
  const koa = readFileSync(join(dirname(require.resolve('koa/package.json')), 'lib/application.js'), 'utf8');
  t.regex(koa, /this\.compose = options\.compose \|\| compose\b/, "the application's compose");
  t.regex(koa, /callback \(\) \{\s*const fn = this\.compose\(this\.middleware\)/, 'is what callback() runs');
  const readers = libraryFiles().filter((file) =>
    /\bctx\.app\b|\.app\.(?:proxy|keys|emit|context|silent|env)\b/.test(readFileSync(file, 'utf8')),
  );
  t.deepEqual(readers, [], "no file of the library reads the context's application");
});
