/**
 * Dynamic client registration (RFC 7591) and management (RFC 7592) over HTTP: off by default, open and
 * token-gated modes, each policy rule refused with its RFC 7591 error, read/update/delete with the registration
 * access token, the per-IP limit, and the initial access token's client cap. The CLI part runs the real CLI
 * against a real Redis shared with the server.
 */
import test, { type ExecutionContext } from 'ava';
import { createInitialAccessToken } from '../../src/provider/registration.ts';
import { runNode } from '../helpers/child.ts';
import { startGatehouse } from '../helpers/gatehouse.ts';
import { startRedis } from '../helpers/redis.ts';
import { capture } from '../helpers/defined.ts';

const REDIRECT_STATIC = 'https://static.example/cb';
const WEB = {
  client_name: 'Registered App',
  redirect_uris: ['https://app.example/cb'],
  grant_types: ['authorization_code', 'refresh_token'],
};

async function register(issuer: string, metadata: Record<string, unknown>, token?: string) {
  const res = await fetch(`${issuer}/reg`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(metadata),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

async function open(t: ExecutionContext, overrides: Record<string, unknown> = {}) {
  return startGatehouse(t, { 'clientRegistration.mode': 'open', ...overrides });
}

test('off by default: no registration endpoint', async (t) => {
  const gh = await startGatehouse(t);
  const meta = (await (await fetch(`${gh.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  t.is(meta.registration_endpoint, undefined);
  t.is((await register(gh.issuer, WEB)).status, 404);
});

test('open registration, then read, update and delete with the registration access token', async (t) => {
  const gh = await open(t);
  const meta = (await (await fetch(`${gh.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  t.is(meta.registration_endpoint, `${gh.issuer}/reg`);

  const created = await register(gh.issuer, { ...WEB, client_secret: 'chosen-by-the-registrant' });
  t.is(created.status, 201);
  const { client_id, client_secret, registration_access_token, registration_client_uri } = created.body as Record<
    string,
    string
  >;
  t.truthy(client_id);
  t.not(client_secret, 'chosen-by-the-registrant', 'Gatehouse generates the secret');
  t.true(Buffer.from(client_secret as string, 'base64url').length >= 32);
  t.is(registration_client_uri, `${gh.issuer}/reg/${client_id}`);
  t.is(created.headers.get('cache-control'), 'no-store');
  t.true(
    (await gh.gatehouse.store.clients.list()).some(
      (c) => c.client_id === client_id && c.client_id_issued_at !== undefined,
    ),
  );

  const auth = (token: string) => ({ authorization: `Bearer ${token}` });
  const read = await fetch(registration_client_uri as string, { headers: auth(registration_access_token as string) });
  t.is(read.status, 200);
  t.is(((await read.json()) as { client_name: string }).client_name, 'Registered App');
  t.is((await fetch(registration_client_uri as string, { headers: auth('not-the-token') })).status, 401);

  const update = await fetch(registration_client_uri as string, {
    method: 'PUT',
    headers: { ...auth(registration_access_token as string), 'content-type': 'application/json' },
    body: JSON.stringify({ ...WEB, client_id, client_name: 'Renamed App' }),
  });
  t.is(update.status, 200);
  const updated = (await update.json()) as Record<string, string>;
  t.is(updated.client_name, 'Renamed App');
  t.not(
    updated.registration_access_token,
    registration_access_token,
    'the registration access token rotates on update',
  );
  t.is(
    (await fetch(registration_client_uri as string, { headers: auth(registration_access_token as string) })).status,
    401,
    'the old one is gone',
  );

  const privileged = await fetch(registration_client_uri as string, {
    method: 'PUT',
    headers: { ...auth(updated.registration_access_token as string), 'content-type': 'application/json' },
    body: JSON.stringify({ ...WEB, client_id, first_party: true }),
  });
  t.is(privileged.status, 400);
  t.is(
    ((await privileged.json()) as { error: string }).error,
    'invalid_client_metadata',
    'the policy applies to updates too',
  );

  const removed = await fetch(registration_client_uri as string, {
    method: 'DELETE',
    headers: auth(updated.registration_access_token as string),
  });
  t.is(removed.status, 204);
  t.false((await gh.gatehouse.store.clients.list()).some((c) => c.client_id === client_id));
});

test('a registered client that lists a resource-server scope reads back as registered', async (t) => {
  const gh = await open(t);
  const created = await register(gh.issuer, { ...WEB, scope: 'openid api:read' });
  t.is(created.status, 201);
  const read = await fetch(created.body.registration_client_uri as string, {
    headers: { authorization: `Bearer ${created.body.registration_access_token as string}` },
  });
  t.is(read.status, 200);
  const body = (await read.json()) as { scope: string; resource_scopes?: string[] };
  t.deepEqual([body.scope, body.resource_scopes], ['openid', ['api:read']], 'the provider shows its split form');
  const stored = (await gh.gatehouse.store.clients.list()).find((c) => c.client_id === created.body.client_id);
  t.deepEqual(
    [stored?.scope, stored?.resource_scopes],
    ['openid api:read', undefined],
    'the store keeps the registered form',
  );
});

test('every policy rule is refused with the RFC 7591 error', async (t) => {
  const gh = await open(t);
  const cases: Array<[string, Record<string, unknown>, string]> = [
    [
      'client_credentials by open registration',
      { ...WEB, grant_types: ['client_credentials'], redirect_uris: [], response_types: [] },
      'invalid_client_metadata',
    ],
    ['the password grant', { ...WEB, grant_types: ['password'] }, 'invalid_client_metadata'],
    [
      'token exchange',
      { ...WEB, grant_types: ['urn:ietf:params:oauth:grant-type:token-exchange'] },
      'invalid_client_metadata',
    ],
    ['first_party', { ...WEB, first_party: true }, 'invalid_client_metadata'],
    ['resource_server_for', { ...WEB, resource_server_for: ['http://localhost:4000'] }, 'invalid_client_metadata'],
    ['token_exchange policy', { ...WEB, token_exchange: { audiences: [], scopes: [] } }, 'invalid_client_metadata'],
    ['an http redirect URI', { ...WEB, redirect_uris: ['http://app.example/cb'] }, 'invalid_redirect_uri'],
    [
      'a loopback http URI for a web client',
      { ...WEB, redirect_uris: ['http://127.0.0.1:8080/cb'] },
      'invalid_redirect_uri',
    ],
    ['a custom scheme', { ...WEB, redirect_uris: ['com.example.app:/cb'] }, 'invalid_redirect_uri'],
    ['a relative URI', { ...WEB, redirect_uris: ['/cb'] }, 'invalid_redirect_uri'],
  ];
  for (const [what, metadata, error] of cases) {
    const out = await register(gh.issuer, metadata);
    t.is(out.status, 400, what);
    t.is(out.body.error, error, what);
  }
  t.deepEqual(await gh.gatehouse.store.clients.list(), [], 'nothing was registered');

  const native = await register(gh.issuer, {
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    redirect_uris: ['http://127.0.0.1:51234/cb'],
  });
  t.is(native.status, 201, 'a native client may use a loopback http URI (RFC 8252)');
  const broken = await fetch(`${gh.issuer}/reg`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"redirect_uris":',
  });
  t.is(broken.status, 400);
});

test('registrations are limited per IP', async (t) => {
  const gh = await open(t, { 'clientRegistration.perIp': 2 });
  t.is((await register(gh.issuer, WEB)).status, 201);
  t.is((await register(gh.issuer, WEB)).status, 201);
  const third = await register(gh.issuer, WEB);
  t.is(third.status, 429);
  t.truthy(third.headers.get('retry-after'));
});

test('token mode: an initial access token is required and registers at most its number of clients', async (t) => {
  const gh = await startGatehouse(t, { 'clientRegistration.mode': 'token' });
  const none = await register(gh.issuer, WEB);
  t.is(none.status, 401);
  t.is(none.body.error, 'invalid_token');

  const token = await createInitialAccessToken(gh.gatehouse.provider, gh.gatehouse.store, 600, 2);
  const bad = await register(gh.issuer, { ...WEB, redirect_uris: ['http://app.example/cb'] }, token);
  t.is(bad.status, 400, 'a refused registration does not use the token up');
  t.is((await register(gh.issuer, WEB, token)).status, 201);
  const machine = await register(
    gh.issuer,
    { grant_types: ['client_credentials'], redirect_uris: [], response_types: [] },
    token,
  );
  t.is(machine.status, 201, 'client_credentials is allowed with an initial access token');
  const third = await register(gh.issuer, WEB, token);
  t.is(third.status, 401);
  t.is(third.body.error, 'invalid_token');
});

test('the CLI issues a single-use initial access token; clients list says how each client was created', async (t) => {
  const redis = await startRedis(t);
  const env = { REDIS_URL: redis.url, CLIENT_REGISTRATION: 'token', ARGON2_MEMORY_KIB: '1024', ARGON2_TIME_COST: '1' };
  const created = await runNode('src/cli/main.ts', ['clients', 'token', 'create', '--ttl', '600'], env);
  t.is(created.code, 0, created.stderr);
  const token = capture(/initial access token: (\S+)/, created.stdout);
  t.truthy(token);
  t.is(
    (await runNode('src/cli/main.ts', ['clients', 'token', 'create', '--ttl', '5'], env)).code,
    2,
    'a too short ttl is a usage error',
  );

  const gh = await startGatehouse(t, { 'redis.url': redis.url, 'clientRegistration.mode': 'token' });
  const first = await register(gh.issuer, WEB, token);
  t.is(first.status, 201);
  t.is((await register(gh.issuer, WEB, token)).status, 401, 'single use by default');
  const list = await runNode('src/cli/main.ts', ['clients', 'list'], env);
  t.regex(list.stdout, new RegExp(`^${first.body.client_id as string}\\t.*\\tregistration$`, 'm'));
});

test('DYNAMIC_CLIENT_IDLE_DAYS: a registered client without tokens for that long is removed; used, static and CLI clients stay', async (t) => {
  const gh = await startGatehouse(t, {
    'clientRegistration.mode': 'token',
    'clientRegistration.idleDays': 30,
    clients: [
      {
        client_id: 'static',
        client_secret: 'static-secret-0123456789abcdef0123456789abc',
        redirect_uris: [REDIRECT_STATIC],
      },
    ],
  });
  const token = await createInitialAccessToken(gh.gatehouse.provider, gh.gatehouse.store, 600, 2);
  const idle = (await register(gh.issuer, WEB, token)).body as Record<string, string>;
  const used = (
    await register(
      gh.issuer,
      { grant_types: ['client_credentials'], redirect_uris: [], response_types: [], scope: 'api:read' },
      token,
    )
  ).body as Record<string, string>;
  await gh.gatehouse.store.clients.save({
    client_id: 'from-cli',
    client_secret: 'x'.repeat(43),
    redirect_uris: [REDIRECT_STATIC],
  });
  // Both registered 40 days ago (the record is rewritten as an old registration would be).
  const longAgo = Math.floor(Date.now() / 1000) - 40 * 86_400;
  for (const id of [idle.client_id, used.client_id]) {
    const record = (await gh.gatehouse.store.clients.list()).find((c) => c.client_id === id);
    await gh.gatehouse.store.clients.save({ ...record, client_id: id as string, client_id_issued_at: longAgo });
  }
  const res = await fetch(`${gh.issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${used.client_id}:${used.client_secret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'api:read' }),
  });
  t.is(res.status, 200, 'the second client is used now');

  t.deepEqual(await gh.gatehouse.clientExpiry.sweep(), [idle.client_id]);
  const left = (await gh.gatehouse.store.clients.list()).map((c) => c.client_id).sort();
  t.deepEqual(left, ['from-cli', used.client_id].sort());
  t.like(
    gh.logs.find((l) => l.audit === 'client.expired'),
    { clientId: idle.client_id },
  );
  t.deepEqual(
    await gh.gatehouse.clientExpiry.sweep(Date.now() + 29 * 86_400_000),
    [],
    'used today: not idle within 30 days',
  );
  t.deepEqual(await gh.gatehouse.clientExpiry.sweep(Date.now() + 31 * 86_400_000), [used.client_id]);
});
