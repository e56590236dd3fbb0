/**
 * The example client files the README points to (docs/examples/clients/*.json), registered with the CLI as
 * written on a real Redis, each then running its own flow against a Gatehouse on that Redis with a real relying
 * party (openid-client).
 */
import { readdirSync, readFileSync } from 'node:fs';
import test from 'ava';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import { authorizeWithPkce, loginThroughPages, discoverClient } from '../helpers/browserless-login.ts';
import { runNode } from '../helpers/child.ts';
import { FAST_ARGON2, startGatehouse } from '../helpers/gatehouse.ts';
import { startRedis } from '../helpers/redis.ts';

const DIR = 'docs/examples/clients';
const API = 'http://localhost:4000';
const USER = { username: 'alice', password: 'a passphrase of several words' };

const cli = (args: string[], env: NodeJS.ProcessEnv, stdin = '') =>
  runNode('src/cli/main.ts', args, { ARGON2_MEMORY_KIB: '1024', ARGON2_TIME_COST: '1', ...env }, stdin);

async function setup(t: import('ava').ExecutionContext, file: string) {
  const redis = await startRedis(t);
  const env = { REDIS_URL: redis.url };
  t.is((await cli(['users', 'add', USER.username, '--password-stdin'], env, USER.password)).code, 0);
  const added = await cli(['clients', 'add', '--file', `${DIR}/${file}`], env);
  t.is(added.code, 0, added.stderr);
  const gh = await startGatehouse(t, { ...FAST_ARGON2, 'redis.url': redis.url });
  return { gh, secret: /client_secret: (\S+)/.exec(added.stdout)?.[1] };
}

test('the README names every example, and there is one per kind', (t) => {
  const files = readdirSync(DIR).sort();
  t.deepEqual(files, ['service.json', 'spa.json', 'web-app.json']);
  const readme = readFileSync('README.md', 'utf8');
  for (const file of files) t.true(readme.includes(`(${DIR}/${file})`), `README links ${file}`);
});

test('web-app.json: a confidential client gets a generated secret, signs a user in and refreshes', async (t) => {
  const { gh, secret } = await setup(t, 'web-app.json');
  t.truthy(secret, 'a secret was generated and printed once');
  const rp = await discoverClient(gh.issuer, 'my-web-app', secret as string);
  const { callback, verifier } = await authorizeWithPkce(rp, gh.issuer, USER, {
    redirect_uri: 'https://app.example.com/callback',
    scope: 'openid email offline_access',
    state: 's',
  });
  const tokens = await oidc.authorizationCodeGrant(rp, callback, { expectedState: 's', pkceCodeVerifier: verifier });
  t.truthy(tokens.id_token);
  t.truthy(tokens.refresh_token, 'offline_access with prompt=consent gives a refresh token');
  const refreshed = await oidc.refreshTokenGrant(rp, tokens.refresh_token as string);
  t.not(refreshed.refresh_token, tokens.refresh_token, 'rotated');
});

test('spa.json: a public client with PKCE and no secret signs a user in', async (t) => {
  const { gh, secret } = await setup(t, 'spa.json');
  t.is(secret, undefined, 'a public client has no secret');
  const rp = await discoverClient(gh.issuer, 'my-spa');
  const { callback, verifier } = await authorizeWithPkce(rp, gh.issuer, USER, {
    redirect_uri: 'https://spa.example.com/callback',
    scope: 'openid profile',
    state: 's',
  });
  const tokens = await oidc.authorizationCodeGrant(rp, callback, { expectedState: 's', pkceCodeVerifier: verifier });
  t.truthy(tokens.claims()?.sub);
  // Without PKCE the same client is refused.
  const bare = oidc.buildAuthorizationUrl(rp, {
    redirect_uri: 'https://spa.example.com/callback',
    scope: 'openid',
    state: 's',
  });
  const { callback: refused } = await loginThroughPages(bare, gh.issuer, USER);
  t.is(refused.searchParams.get('error'), 'invalid_request');
});

test('service.json: a service gets an API access token with client_credentials and cannot sign users in', async (t) => {
  const { gh, secret } = await setup(t, 'service.json');
  t.truthy(secret);
  const rp = await discoverClient(gh.issuer, 'my-service', secret as string);
  const cc = await oidc.clientCredentialsGrant(rp, { scope: 'api:read', resource: API });
  const { payload } = await jose.jwtVerify(cc.access_token, jose.createRemoteJWKSet(new URL('/jwks', gh.issuer)), {
    audience: API,
    typ: 'at+jwt',
    issuer: gh.issuer,
  });
  t.is(payload.client_id, 'my-service');
  t.is(payload.scope, 'api:read');
  const res = await fetch(`${gh.issuer}/auth?client_id=my-service&response_type=code&scope=openid`, {
    redirect: 'manual',
  });
  t.is(res.status, 400);
});
