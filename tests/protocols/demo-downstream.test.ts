/**
 * The demo API's GET /api/downstream: the API (started as `npm run demo:api` starts it, from its environment)
 * exchanges the user's token at a real Gatehouse and calls a second demo API, which accepts the exchanged token.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import test, { type ExecutionContext } from 'ava';
import { loadDemoApiConfig } from '../../src/demo/api/config.ts';
import { startDemoApi } from '../../src/demo/api/start.ts';
import { demoUserTokens } from '../helpers/browserless-login.ts';
import { startGatehouse } from '../helpers/gatehouse.ts';

const FRONT = 'http://localhost:4000';
const BACK = 'http://localhost:4100';
const REDIRECT = 'http://localhost:5000/callback';
const WEB_SECRET = 'web-secret-that-is-long-enough-0123456789abcdef';
const API_SECRET = 'api-secret-that-is-long-enough-0123456789abcdef';

async function start(t: ExecutionContext, env: NodeJS.ProcessEnv): Promise<string> {
  const server: Server = await startDemoApi(
    loadDemoApiConfig({ API_PORT: '0', API_HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...env }),
  );
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test('the demo API calls a second service with an exchanged token', async (t) => {
  const gh = await startGatehouse(t, {
    resourceServers: [
      { identifier: FRONT, scopes: ['api:read'] },
      { identifier: BACK, scopes: ['api:read'] },
    ],
    clients: [
      {
        client_id: 'web',
        client_secret: WEB_SECRET,
        redirect_uris: [REDIRECT],
        scope: 'openid api:read',
        first_party: true,
      },
      {
        client_id: 'demo-api',
        client_secret: API_SECRET,
        redirect_uris: [],
        response_types: [],
        grant_types: ['urn:ietf:params:oauth:grant-type:token-exchange'],
        resource_server_for: [FRONT],
        token_exchange: { audiences: [BACK], scopes: ['api:read'] },
      },
    ],
  });
  const back = await start(t, { ISSUER: gh.issuer, API_AUDIENCE: BACK });
  const front = await start(t, {
    ISSUER: gh.issuer,
    API_AUDIENCE: FRONT,
    API_CLIENT_ID: 'demo-api',
    API_CLIENT_SECRET: API_SECRET,
    API_DOWNSTREAM_URL: back,
    API_DOWNSTREAM_AUDIENCE: BACK,
  });

  const user = await demoUserTokens(
    gh.issuer,
    { id: 'web', secret: WEB_SECRET, redirectUri: REDIRECT },
    'openid api:read',
    FRONT,
  );

  const res = await fetch(`${front}/api/downstream`, { headers: { authorization: `Bearer ${user.access_token}` } });
  t.is(res.status, 200);
  const body = (await res.json()) as { via: string; downstream: { sub: string; client_id: string } };
  t.is(body.via, 'token exchange');
  t.is(body.downstream.sub, user.claims()?.sub ?? 'no sub');
  t.is(body.downstream.client_id, 'demo-api', 'the downstream service sees the exchanging API as the client');
  t.is(
    (await fetch(`${back}/api/profile`, { headers: { authorization: `Bearer ${user.access_token}` } })).status,
    401,
    'the user token itself is not for the second service',
  );
  t.is((await fetch(`${front}/api/downstream`)).status, 401);
});
