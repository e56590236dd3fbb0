/**
 * Userinfo and introspection with an opaque access token on Redis: the token, its Grant, account, client and
 * session (and, for introspection, whether the value is another kind of token) are read in one round trip at the
 * start of the request (PREFETCH_TOKEN, src/storage/redis/adapter.ts),
 * the answers are the same as without it, and nothing read for one request is served to the next: a revoked token
 * is refused at once.
 */
import test from 'ava';
import type { RedisStore } from '../../src/storage/redis-store.ts';
import { fileRedis } from '../helpers/redis.ts';
import {
  authorize,
  CLIENT,
  countWrites,
  discover,
  exchangeCode,
  REDIRECT,
  refresh,
  sharedSettings,
  startRedisGatehouse,
  tokenRequest,
} from './redis-gatehouse.ts';
import { discoverClient } from '../helpers/browserless-login.ts';

const redis = fileRedis(test);

const STORED = { id: 'stored-rp', secret: 'stored-rp-secret-that-is-long-enough-0123456789' };
const basic = `Basic ${Buffer.from(`${STORED.id}:${STORED.secret}`).toString('base64')}`;

// Serial: socket writes are counted on the instance's one connection.
test.serial(
  'userinfo and introspection: one round trip each, the same answers, a revoked token refused at once',
  async (t) => {
    const gh = await startRedisGatehouse(t, redis.url, await sharedSettings());
    await gh.gatehouse.store.clients.save({
      client_id: STORED.id,
      client_secret: STORED.secret,
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code'],
      scope: 'openid profile email',
      first_party: true,
    });
    const config = await discoverClient(gh.issuer, STORED.id, STORED.secret);
    const { code, verifier } = await authorize(gh, config, { scope: 'openid profile', prompt: 'login' });
    const tokens = await fetch(new URL('/token', gh.issuer), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT,
        code_verifier: verifier,
      }),
    });
    t.is(tokens.status, 200);
    const accessToken = ((await tokens.json()) as { access_token: string }).access_token;
    t.is(accessToken.split('.').length, 1, 'an opaque access token');
    const store = gh.gatehouse.store as RedisStore;
    const stored = await store.adapter('AccessToken').find(accessToken);
    t.is(stored?.expiresWithSession, true, 'bound to the session: its session is read too');

    const userinfo = () => fetch(new URL('/me', gh.issuer), { headers: { authorization: `Bearer ${accessToken}` } });
    const introspect = (token: string) =>
      fetch(new URL('/token/introspection', gh.issuer), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
        body: new URLSearchParams({ token }),
      });

    // Round trips of each request, by its median: the instance's background work (the logout queue, client expiry)
    // shares the connection and may add a write to one of them.
    const writes = countWrites(store.client);
    const median = (xs: number[]) => {
      const m = [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      if (m === undefined) throw new Error('no requests counted');
      return m;
    };
    const perRequest: number[] = [];
    for (let i = 0; i < 7; i++) {
      writes.reset();
      const res = await userinfo();
      perRequest.push(writes.count);
      t.is(res.status, 200);
      t.is(((await res.json()) as { sub?: string }).sub, stored?.accountId);
    }
    t.is(median(perRequest), 1, `userinfo: round trips per request ${perRequest.join(', ')}`);
    perRequest.length = 0;
    for (let i = 0; i < 7; i++) {
      writes.reset();
      const res = await introspect(accessToken);
      perRequest.push(writes.count);
      t.is(res.status, 200);
      const body = (await res.json()) as { active?: boolean; client_id?: string; sub?: string };
      t.deepEqual([body.active, body.client_id, body.sub], [true, STORED.id, stored?.accountId]);
    }
    // Rate limits, client, token, Grant, account, and whether the value is also a client-credentials token or a
    // refresh token (the provider looks it up as those too, whatever the access-token look-up finds): one script.
    t.is(median(perRequest), 1, `introspection: round trips per request ${perRequest.join(', ')}`);

    const revoked = await fetch(new URL('/token/revocation', gh.issuer), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
      body: new URLSearchParams({ token: accessToken }),
    });
    t.is(revoked.status, 200);
    const after = await userinfo();
    t.is(after.status, 401);
    t.regex(after.headers.get('www-authenticate') ?? '', /invalid_token/);
    t.is(((await (await introspect(accessToken)).json()) as { active?: boolean }).active, false);
  },
);

test('a token that is not an access token, or not opaque, is introspected as without the prefetch', async (t) => {
  const gh = await startRedisGatehouse(t, redis.url, await sharedSettings());
  const config = await discover(gh);
  const { code, verifier } = await authorize(gh, config);
  const first = await exchangeCode(gh.issuer, code, verifier);
  t.is(first.status, 200);
  const web = `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`;
  const introspect = async (token: string) => {
    const res = await fetch(new URL('/token/introspection', gh.issuer), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: web },
      body: new URLSearchParams({ token }),
    });
    t.is(res.status, 200);
    return (await res.json()) as { active?: boolean; client_id?: string };
  };
  const refreshToken = first.body.refresh_token as string;
  const found = await introspect(refreshToken);
  t.deepEqual([found.active, found.client_id], [true, CLIENT.id], 'a refresh token is found as without the prefetch');
  const cc = await tokenRequest(gh.issuer, { grant_type: 'client_credentials' });
  t.is(cc.status, 200);
  const ccToken = cc.body.access_token as string;
  t.is(ccToken.split('.').length, 1, 'an opaque client-credentials token');
  const ccFound = await introspect(ccToken);
  t.deepEqual([ccFound.active, ccFound.client_id], [true, CLIENT.id], 'a client-credentials token is found');
  t.false((await introspect('A'.repeat(43))).active, 'an unknown opaque value');
  t.false((await introspect('not.a.token')).active, 'a value that is not opaque');
  const me = await fetch(new URL('/me', gh.issuer), { headers: { authorization: 'Bearer A{b}c' } });
  t.is(me.status, 401, 'a malformed bearer value is refused, not looked up');
});

// Serial: socket writes are counted on the instance's one connection.
test.serial(
  'a code exchange: the code with its Grant, account and session in one round trip (4 in all); a replayed code still revokes',
  async (t) => {
    const gh = await startRedisGatehouse(t, redis.url, await sharedSettings());
    const config = await discover(gh);
    const store = gh.gatehouse.store as RedisStore;
    const writes = countWrites(store.client);
    const perExchange: number[] = [];
    let last: { code: string; verifier: string; refreshToken: string } | undefined;
    for (let i = 0; i < 5; i++) {
      const { code, verifier } = await authorize(gh, config);
      writes.reset();
      const answer = await exchangeCode(gh.issuer, code, verifier);
      perExchange.push(writes.count);
      t.is(answer.status, 200);
      last = { code, verifier, refreshToken: answer.body.refresh_token as string };
    }
    perExchange.sort((a, b) => a - b);
    t.log(`round trips per code exchange: ${perExchange.join(', ')}`);
    // (1) rate limits, client, code, Grant, account, session; (2) the code's consume, which must have succeeded
    // before any token is written; (3) the opaque access token; (4) the refresh token's lineage (the provider saves
    // them one after the other). Without the prefetch: 9.
    t.true((perExchange[2] ?? Number.POSITIVE_INFINITY) <= 4, `median round trips ${perExchange[2]}`);
    if (!last) throw new Error('no exchange');
    const replay = await exchangeCode(gh.issuer, last.code, last.verifier);
    t.is(replay.status, 400);
    t.is(replay.body.error, 'invalid_grant');
    const afterReplay = await refresh(gh.issuer, last.refreshToken);
    t.is(afterReplay.status, 400, 'the tokens of the replayed code are revoked');
  },
);
