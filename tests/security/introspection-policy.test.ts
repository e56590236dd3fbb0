/**
 * Who may introspect a token (RFC 7662): the client it was issued to, and a confidential client registered as the
 * resource server of the token's audience (`resource_server_for`), for access tokens only. Any other client —
 * even a confidential one — learns nothing: `{"active": false}`, the answer for an unknown token. On the memory
 * store and on Redis.
 */
import test from 'ava';
import type { TestGatehouse } from '../helpers/gatehouse.ts';
import { ALL_SCOPES, basic, CLIENTS, codeFlow, FORM, gatehouseOn, rp } from './fixtures.ts';

const API = 'http://localhost:4000';
const OTHER = 'http://localhost:4100';
const RS_SECRET = 'resource-server-secret-0123456789abcdef0123456789ab';

const RESOURCE_SERVERS = [
  { identifier: API, scopes: ['api:read', 'api:write'], default: true, accessTokenFormat: 'opaque' },
  { identifier: OTHER, scopes: ['other:read'], accessTokenFormat: 'opaque' },
];

const resourceServerClient = (id: string, served: string) => ({
  client_id: id,
  client_secret: RS_SECRET,
  grant_types: [],
  response_types: [],
  redirect_uris: [],
  resource_server_for: [served],
});

async function introspect(
  gh: TestGatehouse,
  authorization: string,
  tokenValue: string,
): Promise<Record<string, unknown>> {
  const res = await fetch(`${gh.issuer}/token/introspection`, {
    method: 'POST',
    headers: { ...FORM, authorization },
    body: new URLSearchParams({ token: tokenValue }),
  });
  if (res.status !== 200) throw new Error(`introspection answered ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}

for (const store of ['memory', 'redis'] as const) {
  test(`${store}: only the token's own client and its audience's resource server may introspect it`, async (t) => {
    const overrides: Record<string, unknown> = {
      resourceServers: RESOURCE_SERVERS,
      clients: [
        ...CLIENTS.map((c) => ({ ...c, scope: `${ALL_SCOPES} other:read` })),
        resourceServerClient('api-rs', API),
        resourceServerClient('other-rs', OTHER),
      ],
    };
    const gh = await gatehouseOn(t, store, overrides);
    const { tokens } = await codeFlow(gh.issuer, await rp(gh.issuer, 'client-a'), 'openid offline_access api:read');
    const access = tokens.access_token;
    const refresh = tokens.refresh_token as string;
    const a = basic('client-a', CLIENTS[0]?.client_secret as string);
    const b = basic('client-b', CLIENTS[1]?.client_secret as string);

    // Another confidential client learns nothing, not even that the token exists.
    t.deepEqual(await introspect(gh, b, access), { active: false });
    t.deepEqual(await introspect(gh, b, refresh), { active: false });
    // The resource server of another audience neither.
    t.deepEqual(await introspect(gh, basic('other-rs', RS_SECRET), access), { active: false });

    // The API's own resource-server client sees the access token meant for it, not the refresh token.
    const atApi = await introspect(gh, basic('api-rs', RS_SECRET), access);
    t.is(atApi.active, true);
    t.is(atApi.aud, API);
    t.is(atApi.client_id, 'client-a');
    t.is(atApi.scope, 'api:read');
    t.deepEqual(await introspect(gh, basic('api-rs', RS_SECRET), refresh), { active: false });

    // The client the tokens were issued to sees both.
    t.is((await introspect(gh, a, access)).active, true);
    const own = await introspect(gh, a, refresh);
    t.is(own.active, true);
    t.is(typeof own.sub, 'string');
  });
}
