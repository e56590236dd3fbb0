/**
 * Signing-key rotation without downtime, driven through the real CLI on a JWKS file and real Gatehouse instances
 * started on each version of the file (each start stands for a rolling restart):
 * add (published, not signing) → promote (signs; old still published) → retire (after the longest lifetime).
 * Tokens signed with the previous key keep verifying against every later instance's JWKS until the old key is
 * retired — which the CLI refuses before those tokens can have expired.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import * as jose from 'jose';
import { runNode } from '../helpers/child.ts';
import { startGatehouse } from '../helpers/gatehouse.ts';
import { API, CLIENTS, codeFlow, rp } from './fixtures.ts';

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => runNode('src/cli/main.ts', args, env);

type Jwks = { keys: Array<{ kid: string; alg: string; retire_after?: number; d?: string }> };
const read = (f: string) => JSON.parse(readFileSync(f, 'utf8')) as Jwks;
const kidsOf = (f: string, alg: string) =>
  read(f)
    .keys.filter((k) => k.alg === alg)
    .map((k) => k.kid);

async function tokensFrom(t: import('ava').ExecutionContext, file: string) {
  const gh = await startGatehouse(t, { clients: CLIENTS, jwksFile: file });
  const { tokens } = await codeFlow(gh.issuer, await rp(gh.issuer, 'client-a'), 'openid api:read');
  const jwks = jose.createLocalJWKSet((await (await fetch(`${gh.issuer}/jwks`)).json()) as jose.JSONWebKeySet);
  return { gh, at: tokens.access_token, id: tokens.id_token as string, jwks };
}

const kid = (jwt: string) => jose.decodeProtectedHeader(jwt).kid;

async function verifies(jwt: string, jwks: ReturnType<typeof jose.createLocalJWKSet>): Promise<boolean> {
  try {
    await jose.jwtVerify(jwt, jwks);
    return true;
  } catch {
    return false;
  }
}

test('keys rotate add → promote → retire: no token ever fails to verify while it is valid', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-rotate-'));
  const file = join(dir, 'jwks.json');
  t.is((await cli(['keys', 'generate', '--out', file])).code, 0);
  const [oldEs] = kidsOf(file, 'ES256');
  const [oldRs] = kidsOf(file, 'RS256');

  // v1: the old keys sign.
  const v1 = await tokensFrom(t, file);
  t.is(kid(v1.at), oldEs);
  t.is(kid(v1.id), oldRs);

  // Stage 1: add. The new key is published but the old one still signs.
  const add = await cli(['keys', 'rotate', 'add', '--file', file]);
  t.is(add.code, 0, add.stderr);
  const [, newEs] = kidsOf(file, 'ES256');
  const [, newRs] = kidsOf(file, 'RS256');
  t.truthy(newEs);
  const v2 = await tokensFrom(t, file);
  t.is(kid(v2.at), oldEs, 'a published-only key does not sign');
  t.true(
    ((await (await fetch(`${v2.gh.issuer}/jwks`)).json()) as Jwks).keys.some((k) => k.kid === newEs),
    'the new key is published',
  );
  t.false(
    ((await (await fetch(`${v2.gh.issuer}/jwks`)).json()) as Jwks).keys.some((k) => k.d !== undefined),
    'only public parts',
  );
  t.true(await verifies(v1.at, v2.jwks));
  t.is((await cli(['keys', 'rotate', 'add', '--file', file])).code, 2, 'a second add before promote is refused');

  // Stage 2: promote. The new key signs; tokens of the old key keep verifying everywhere.
  const promote = await cli(['keys', 'rotate', 'promote', '--file', file], {
    ACCESS_TOKEN_TTL: '1',
    ID_TOKEN_TTL: '1',
    CLIENT_CREDENTIALS_TTL: '1',
  });
  t.is(promote.code, 0, promote.stderr);
  const v3 = await tokensFrom(t, file);
  t.is(kid(v3.at), newEs);
  t.is(kid(v3.id), newRs);
  for (const jwt of [v1.at, v1.id, v2.at, v2.id])
    t.true(await verifies(jwt, v3.jwks), 'old-key tokens verify after the promotion');
  // Instances still on the previous file (mid rolling restart) verify the new tokens too: the key was published.
  t.true(await verifies(v3.at, v2.jwks));
  t.true(await verifies(v3.id, v2.jwks));
  // The resource-server view: an RFC 9068 access token signed by the old key still passes full validation.
  t.truthy((await jose.jwtVerify(v1.at, v3.jwks, { audience: API, typ: 'at+jwt', issuer: v1.gh.issuer })).payload.sub);

  // Stage 3: retire, once the longest lifetime (1 s here) has passed (the refusal before that: next test).
  const demoted = read(file).keys.find((k) => k.kid === oldEs);
  t.truthy(demoted?.retire_after);
  await new Promise((r) => setTimeout(r, Math.max(0, ((demoted?.retire_after as number) + 1) * 1000 - Date.now())));
  const retire = await cli(['keys', 'rotate', 'retire', '--file', file]);
  t.is(retire.code, 0, retire.stderr);
  t.deepEqual(kidsOf(file, 'ES256'), [newEs]);
  t.deepEqual(kidsOf(file, 'RS256'), [newRs]);
  const v4 = await tokensFrom(t, file);
  t.true(await verifies(v3.at, v4.jwks));
  t.false(await verifies(v1.at, v4.jwks), 'after retirement the old key is gone');
});

test('keys rotate refuses what it cannot do safely', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-rotate-'));
  const file = join(dir, 'jwks.json');
  t.is((await cli(['keys', 'rotate', 'add', '--file', file])).code, 2, 'missing file');
  await cli(['keys', 'generate', '--out', file]);
  const noNew = await cli(['keys', 'rotate', 'promote', '--file', file]);
  t.is(noNew.code, 2);
  t.regex(noNew.stderr, /no new key to promote/);
  t.is((await cli(['keys', 'rotate', 'add', '--file', file, '--alg', 'HS256'])).code, 2);
  t.is((await cli(['keys', 'rotate', 'spin', '--file', file])).code, 2);
  const only = await cli(['keys', 'rotate', 'add', '--file', file, '--alg', 'ES256']);
  t.is(only.code, 0, only.stderr);
  t.is(kidsOf(file, 'ES256').length, 2);
  t.is(kidsOf(file, 'RS256').length, 1);
  t.is((await cli(['keys', 'rotate', 'retire', '--file', file])).stdout.trim(), 'nothing to retire');
  // Promoted with the default lifetimes: the old key may still have signed a valid ID token for an hour.
  const [oldEs] = kidsOf(file, 'ES256');
  t.is((await cli(['keys', 'rotate', 'promote', '--file', file, '--alg', 'ES256'])).code, 0);
  const early = await cli(['keys', 'rotate', 'retire', '--file', file]);
  t.is(early.code, 3);
  t.regex(early.stderr, /not yet: .* may sign tokens valid until/);
  t.is(early.stdout, '', 'one message: no "nothing to retire" beside the refusal');
  t.is(early.stderr.trim().split('\n').length, 1);
  t.is(kidsOf(file, 'ES256').length, 2);
  const retireAfter = read(file).keys.find((k) => k.kid === oldEs)?.retire_after as number;
  t.true(Math.abs(retireAfter - (Date.now() / 1000 + 3600)) < 60, 'stamped with the longest lifetime (ID tokens, 1 h)');
  const forced = await cli(['keys', 'rotate', 'retire', '--file', file, '--force']);
  t.is(forced.code, 0);
  t.deepEqual(kidsOf(file, 'ES256').includes(oldEs as string), false);
});
