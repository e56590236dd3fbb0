/**
 * Per-client resource scopes: a client gets from a resource server only the scopes its `scope` metadata lists
 * (least privilege: none without it), optionally only from the servers `allowed_resources` names, for every grant
 * type. Clients registered in the store (as `clients add` does) on the memory store and on Redis, static clients
 * from the config file, and the CLI itself.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import * as oidc from 'openid-client';
import { runNode } from '../helpers/child.ts';
import { startGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';
import { startRedis } from '../helpers/redis.ts';
import { basic, codeFlow, FORM, gatehouseOn, REDIRECT } from './fixtures.ts';
import { defined } from '../helpers/defined.ts';
import { discoverClient } from '../helpers/browserless-login.ts';

const API = 'http://localhost:4000';
const OTHER = 'http://localhost:4100';
const RESOURCE_SERVERS = [
  { identifier: API, scopes: ['api:read', 'api:write'], default: true },
  { identifier: OTHER, scopes: ['other:read'] },
];
const SECRET = 'client-scopes-secret-0123456789abcdef0123456789abcdef';

function client(id: string, extra: Record<string, unknown> = {}) {
  return {
    client_id: id,
    client_secret: SECRET,
    redirect_uris: [REDIRECT],
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    ...extra,
  };
}

const READER = client('reader', { scope: 'openid offline_access api:read' });
const NOTHING = client('nothing');
const NARROW = client('narrow', { scope: 'api:read other:read', allowed_resources: [OTHER] });

async function token(gh: TestGatehouse, id: string, params: Record<string, string>) {
  const res = await fetch(`${gh.issuer}/token`, {
    method: 'POST',
    headers: { ...FORM, authorization: basic(id, SECRET) },
    body: new URLSearchParams(params),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

const cc = (gh: TestGatehouse, id: string, params: Record<string, string>) =>
  token(gh, id, { grant_type: 'client_credentials', ...params });

async function start(t: import('ava').ExecutionContext, store: 'memory' | 'redis'): Promise<TestGatehouse> {
  const gh = await gatehouseOn(t, store, { resourceServers: RESOURCE_SERVERS });
  for (const c of [READER, NOTHING, NARROW]) await gh.gatehouse.store.clients.save(c);
  return gh;
}

const discover = (gh: TestGatehouse, id: string) => discoverClient(gh.issuer, id, SECRET);

for (const store of ['memory', 'redis'] as const) {
  test(`${store}: client credentials get only the resource scopes the client lists`, async (t) => {
    const gh = await start(t, store);
    const both = await cc(gh, 'reader', { scope: 'api:read api:write', resource: API });
    t.is(both.status, 400, JSON.stringify(both.body));
    t.is(both.body.error, 'invalid_scope');
    const read = await cc(gh, 'reader', { scope: 'api:read', resource: API });
    t.is(read.status, 200);
    t.is(read.body.scope, 'api:read');
    const defaulted = await cc(gh, 'reader', { scope: 'api:read' });
    t.is(defaulted.body.scope, 'api:read', 'the default resource server, same rule');
    t.is((await cc(gh, 'reader', { scope: 'other:read', resource: OTHER })).body.error, 'invalid_scope');
    t.is(
      (await cc(gh, 'reader', { resource: OTHER })).body.error,
      'invalid_target',
      'no scope there: no token for that server at all',
    );

    // Least privilege: a client that lists no resource scope gets none, and no token for any resource server.
    t.is((await cc(gh, 'nothing', { scope: 'api:read', resource: API })).body.error, 'invalid_scope');
    t.is((await cc(gh, 'nothing', { resource: API })).body.error, 'invalid_target');

    // allowed_resources narrows further.
    t.is((await cc(gh, 'narrow', { scope: 'api:read', resource: API })).body.error, 'invalid_target');
    const other = await cc(gh, 'narrow', { scope: 'other:read', resource: OTHER });
    t.is(other.status, 200);
    t.is(other.body.scope, 'other:read');
  });

  test(`${store}: authorization code and refresh token grants keep to the client's scopes, also after its registration narrows`, async (t) => {
    const gh = await start(t, store);
    const reader = await discover(gh, 'reader');
    // Asking for more at the authorization endpoint is refused before anyone signs in.
    const tooMuch = oidc.buildAuthorizationUrl(reader, {
      redirect_uri: REDIRECT,
      scope: 'openid api:read api:write',
      code_challenge: 'x'.repeat(43),
      code_challenge_method: 'S256',
    });
    const refused = await fetch(tooMuch, { redirect: 'manual' });
    t.is(new URL(refused.headers.get('location') as string).searchParams.get('error'), 'invalid_scope');

    // A client once allowed both scopes gets both; after its registration drops api:write, the next refresh does not.
    await gh.gatehouse.store.clients.remove('reader');
    await gh.gatehouse.store.clients.save({ ...READER, scope: 'openid offline_access api:read api:write' });
    const { tokens } = await codeFlow(
      gh.issuer,
      await discover(gh, 'reader'),
      'openid offline_access api:read api:write',
    );
    t.is(
      tokens.scope
        ?.split(' ')
        .filter((s) => s.startsWith('api:'))
        .sort()
        .join(' '),
      'api:read api:write',
    );
    await gh.gatehouse.store.clients.remove('reader');
    await gh.gatehouse.store.clients.save(READER);
    const refreshed = await token(gh, 'reader', {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token as string,
    });
    t.is(refreshed.status, 200, JSON.stringify(refreshed.body));
    t.is(refreshed.body.scope, 'api:read');
    const payload = JSON.parse(
      Buffer.from(
        defined(
          (refreshed.body.access_token as string).split('.')[1],
          "(refreshed.body.access_token as string).split('.')[1]",
        ),
        'base64url',
      ).toString(),
    ) as Record<string, unknown>;
    t.is(payload.scope, 'api:read', 'the access token itself carries only the allowed scope');
    const asked = await token(gh, 'reader', {
      grant_type: 'refresh_token',
      refresh_token: refreshed.body.refresh_token as string,
      scope: 'api:write',
    });
    t.is(asked.body.error, 'invalid_scope');
  });
}

test('static clients from the config file follow the same rule', async (t) => {
  const gh = await startGatehouse(t, { resourceServers: RESOURCE_SERVERS, clients: [READER, NOTHING] });
  t.is((await cc(gh, 'reader', { scope: 'api:read api:write', resource: API })).body.error, 'invalid_scope');
  t.is((await cc(gh, 'reader', { scope: 'api:read', resource: API })).body.scope, 'api:read');
  t.is((await cc(gh, 'nothing', { resource: API })).body.error, 'invalid_target');
});

test('clients add accepts resource scopes in scope and resource_server_for; refuses resource_scopes, unknown resources and a public resource server', async (t) => {
  const redis = await startRedis(t);
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-client-scopes-'));
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ resourceServers: RESOURCE_SERVERS }));
  const add = async (metadata: Record<string, unknown>) => {
    const file = join(dir, `${String(metadata.client_id)}.json`);
    writeFileSync(file, JSON.stringify(metadata));
    return runNode('src/cli/main.ts', ['clients', 'add', '--file', file], {
      REDIS_URL: redis.url,
      CONFIG_FILE: config,
    });
  };
  const machine = {
    client_id: 'machine',
    client_secret: SECRET,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: 'api:read',
  };
  const ok = await add(machine);
  t.is(ok.code, 0, ok.stderr);
  const computed = await add({ ...machine, client_id: 'sneaky', resource_scopes: ['api:write'] });
  t.is(computed.code, 2);
  t.regex(computed.stderr, /resource_scopes is not registered/);
  const unknown = await add({ ...machine, client_id: 'lost', allowed_resources: ['https://nowhere.example'] });
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /allowed_resources: https:\/\/nowhere\.example is not a configured resource server/);

  // A resource server's client (introspection, see introspection-policy.test.ts) must be confidential and real.
  const rs = {
    client_id: 'rs',
    client_secret: SECRET,
    grant_types: [],
    response_types: [],
    redirect_uris: [],
    resource_server_for: [API],
  };
  t.is((await add(rs)).code, 0);
  const publicRs = await add({
    ...rs,
    client_id: 'public-rs',
    client_secret: undefined,
    token_endpoint_auth_method: 'none',
  });
  t.is(publicRs.code, 2);
  t.regex(publicRs.stderr, /resource_server_for needs a confidential client/);
  const nowhere = await add({ ...rs, client_id: 'nowhere-rs', resource_server_for: ['https://nowhere.example'] });
  t.is(nowhere.code, 2);
  t.regex(nowhere.stderr, /resource_server_for: https:\/\/nowhere\.example is not a configured resource server/);

  const gh = await startGatehouse(t, { resourceServers: RESOURCE_SERVERS, 'redis.url': redis.url });
  const read = await cc(gh, 'machine', { scope: 'api:read', resource: API });
  t.is(read.status, 200);
  t.is(read.body.scope, 'api:read');
  t.is((await cc(gh, 'machine', { scope: 'api:write', resource: API })).body.error, 'invalid_scope');
});
