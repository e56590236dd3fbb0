/**
 * The rest of the protocol on Redis: PAR, userinfo, introspection, revocation (which destroys the grant's family)
 * and logout — the provider's other adapter calls (PushedAuthorizationRequest, Session uid index, Grant destroy).
 */
import test from 'ava';
import * as oidc from 'openid-client';
import { startRedis } from '../helpers/redis.ts';
import { keysOf } from './redis-fixture.ts';
import { CLIENT, REDIRECT, sharedSettings, startRedisGatehouse, USER } from './redis-gatehouse.ts';
import { loginThroughPages, discoverClient } from '../helpers/browserless-login.ts';
import type { RedisStore } from '../../src/storage/redis-store.ts';

test('PAR, userinfo, introspection and revocation on Redis; revocation leaves no key of the family', async (t) => {
  const redis = await startRedis(t);
  const shared = await sharedSettings();
  const gh = await startRedisGatehouse(t, redis.url, shared);
  const config = await discoverClient(gh.issuer, CLIENT.id, CLIENT.secret);
  const verifier = oidc.randomPKCECodeVerifier();
  const url = await oidc.buildAuthorizationUrlWithPAR(config, {
    redirect_uri: REDIRECT,
    scope: 'openid email offline_access',
    prompt: 'consent',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  const { callback } = await loginThroughPages(url, gh.issuer, { ...USER });
  const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier });
  const info = await oidc.fetchUserInfo(config, tokens.access_token, tokens.claims()?.sub as string);
  t.is(info.email, 'alice@example.com');
  t.true((await oidc.tokenIntrospection(config, tokens.refresh_token as string)).active);

  const store = gh.gatehouse.store as RedisStore;
  const grantId = (await store.adapter('RefreshToken').find(tokens.refresh_token as string))?.grantId as string;
  t.truthy(grantId);
  t.true((await keysOf(store.client, shared.keyPrefix)).some((k) => k.includes(`{g:${grantId}}`)));

  await oidc.tokenRevocation(config, tokens.refresh_token as string);
  t.false((await oidc.tokenIntrospection(config, tokens.refresh_token as string)).active);
  t.false((await oidc.tokenIntrospection(config, tokens.access_token)).active, 'the access token went with the grant');
  const left = await keysOf(store.client, shared.keyPrefix);
  t.deepEqual(
    left.filter(
      (k) =>
        k.includes(`{g:${grantId}}`) ||
        k.includes(`{${tokens.refresh_token}}`) ||
        k.includes(`{${tokens.access_token}}`),
    ),
    [],
  );
});
