/**
 * Races over real HTTP against Gatehouse on a real Redis: 20 simultaneous refreshes with one refresh token
 * (within the reuse interval, and with the interval 0), 20 simultaneous exchanges of one code; and the number of
 * Redis commands and round trips one refresh costs (INFO commandstats, socket writes): at most 3 round trips.
 */
import test from 'ava';
import type { Redis } from 'ioredis';
import type { RedisStore } from '../../src/storage/redis-store.ts';
import { fileRedis } from '../helpers/redis.ts';
import {
  authorize,
  countWrites,
  discover,
  exchangeCode,
  REDIRECT,
  refresh,
  sharedSettings,
  startRedisGatehouse,
} from './redis-gatehouse.ts';
import { defined } from '../helpers/defined.ts';
import { discoverClient } from '../helpers/browserless-login.ts';

const redis = fileRedis(test);

async function signedIn(t: Parameters<typeof startRedisGatehouse>[0], reuseSeconds: number) {
  const gh = await startRedisGatehouse(t, redis.url, await sharedSettings(), {
    'refreshTokens.reuseIntervalSeconds': reuseSeconds,
  });
  const config = await discover(gh);
  const { code, verifier } = await authorize(gh, config);
  const first = await exchangeCode(gh.issuer, code, verifier);
  t.is(first.status, 200);
  return { gh, rt: first.body.refresh_token as string };
}

test('20 simultaneous refreshes within the reuse interval: all succeed with the same successor, one live chain', async (t) => {
  const { gh, rt } = await signedIn(t, 30);
  const rts = gh.gatehouse.store.adapter('RefreshToken');
  const grantId = (await rts.find(rt))?.grantId;
  t.truthy(grantId);
  const results = await Promise.all(Array.from({ length: 20 }, () => refresh(gh.issuer, rt)));
  t.deepEqual(
    results.map((r) => r.status),
    Array(20).fill(200),
  );
  const successors = new Set(results.map((r) => r.body.refresh_token as string));
  t.is(successors.size, 1, 'every request got the one current refresh token');
  const [current] = successors as Set<string>;
  t.is((await rts.find(current as string))?.grantId, grantId);
  // The user stays signed in: the successor keeps working, and the chain goes on from it alone.
  const next = await refresh(gh.issuer, current as string);
  t.is(next.status, 200);
  t.false(gh.logs.some((l) => l.audit === 'refresh_token.reuse_detected'));
});

test('20 simultaneous refreshes with the reuse interval 0: exactly one succeeds; a later replay revokes the family', async (t) => {
  const { gh, rt } = await signedIn(t, 0);
  const results = await Promise.all(Array.from({ length: 20 }, () => refresh(gh.issuer, rt)));
  const ok = results.filter((r) => r.status === 200);
  t.is(ok.length, 1);
  for (const r of results.filter((r) => r.status !== 200)) {
    t.is(r.status, 400);
    t.is(r.body.error, 'invalid_grant');
  }
  const replay = await refresh(gh.issuer, rt);
  t.is(replay.status, 400);
  t.is(replay.body.error, 'invalid_grant');
  const winner = await refresh(gh.issuer, ok[0]?.body.refresh_token as string);
  t.is(winner.status, 400, 'the family is revoked');
  t.is(winner.body.error, 'invalid_grant');
  t.true(gh.logs.some((l) => l.audit === 'refresh_token.reuse_detected'));
});

test('20 simultaneous exchanges of one authorization code: exactly one succeeds', async (t) => {
  const gh = await startRedisGatehouse(t, redis.url, await sharedSettings());
  const config = await discover(gh);
  const { code, verifier } = await authorize(gh, config);
  const results = await Promise.all(Array.from({ length: 20 }, () => exchangeCode(gh.issuer, code, verifier)));
  t.is(results.filter((r) => r.status === 200).length, 1);
  for (const r of results.filter((r) => r.status !== 200)) t.is(r.body.error, 'invalid_grant');
});

// Serial: the counters are server-wide, so nothing else may run while they count.
test.serial('Redis commands and round trips per refresh', async (t) => {
  const { gh, rt } = await signedIn(t, 5);
  let token = rt;
  // Warm up (the first use of each script loads it).
  for (let i = 0; i < 3; i++) token = (await refresh(gh.issuer, token)).body.refresh_token as string;
  const store = gh.gatehouse.store as RedisStore;
  const client = store.client as Redis;
  // Storage calls: the provider and the account/throttle services hold these very objects, so wrapping their
  // methods in place counts every call they make.
  let storageCalls = 0;
  const byCall: Record<string, number> = {};
  const count = (name: string, target: Record<string, unknown>) => {
    for (const [method, fn] of Object.entries(target)) {
      if (typeof fn !== 'function') continue;
      target[method] = (...args: unknown[]) => {
        storageCalls++;
        byCall[`${name}.${method}`] = (byCall[`${name}.${method}`] ?? 0) + 1;
        return (fn as (...a: unknown[]) => unknown).apply(target, args);
      };
    }
  };
  for (const model of [
    'Session',
    'Grant',
    'AccessToken',
    'RefreshToken',
    'AuthorizationCode',
    'Client',
    'Interaction',
    'ReplayDetection',
  ])
    count(model, store.adapter(model) as unknown as Record<string, unknown>);
  count('accounts', store.accounts as unknown as Record<string, unknown>);
  count('throttle', store.throttle as unknown as Record<string, unknown>);
  // Client side: commands this instance sends, and socket writes (auto-pipelined commands share one write, so
  // writes count the round trips that are not overlapped).
  const sentCount = countSent(client);
  let writes = 0;
  const stream = (client as unknown as { stream: { write: (...a: unknown[]) => boolean } }).stream;
  const write = stream.write.bind(stream);
  stream.write = (...a: unknown[]) => {
    writes++;
    return write(...a);
  };
  await client.config('RESETSTAT');
  [writes, storageCalls] = [0, 0];
  sentCount.reset();
  for (const k of Object.keys(byCall)) delete byCall[k];
  const rounds = 10;
  for (let i = 0; i < rounds; i++) {
    const r = await refresh(gh.issuer, token);
    t.is(r.status, 200);
    token = r.body.refresh_token as string;
  }
  const [sentPer, writesPer, callsPer] = [sentCount.count / rounds, writes / rounds, storageCalls / rounds];
  const stats = await client.info('commandstats');
  const calls: Record<string, number> = {};
  for (const m of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
    calls[defined(m[1], 'm[1]')] = Number(m[2]) / rounds;
  delete calls['config|resetstat'];
  const executed = Object.values(calls).reduce((a, b) => a + b, 0);
  t.log(
    `per refresh: ${callsPer} storage calls, ${sentPer} commands sent, ${writesPer} socket writes (round trips), ${executed} commands executed in Redis incl. inside scripts`,
  );
  t.log(
    `storage calls: ${JSON.stringify(Object.fromEntries(Object.entries(byCall).map(([k, v]) => [k, v / rounds])))}`,
  );
  t.log(`Redis commandstats: ${JSON.stringify(calls)}`);
  t.true(callsPer > 0);
  // The budget (docs/performance.md "Targets"): at most 3 round trips per refresh, rate limiter included — (1) the
  // prefetch of the refresh token, its Grant and account, carrying both rate-limit counters in its script; (2)
  // consume + save of the successor (ROTATE); (3) the opaque access token this client gets. Commands: 4.
  t.true(writesPer <= 3, `round trips ${writesPer} per refresh`);
  t.true(sentPer <= 4, `commands sent ${sentPer} per refresh`);
  // The provider's look-ups are served by the prefetch, the consume rides with the save: storage calls are more
  // than round trips.
  t.true(writesPer < callsPer, `round trips ${writesPer}, storage calls ${callsPer}`);
});

// The bench's refresh: a first-party client registered in the store (not in config), tokens bound to the session
// (no offline_access), a JWT access token for the API. Client.find and Session.findByUid are served by the
// prefetch too, and no access token is stored: 2 round trips.
test.serial('round trips per refresh: stored first-party client, session-bound token, JWT access token', async (t) => {
  const gh = await startRedisGatehouse(t, redis.url, await sharedSettings());
  const dyn = { id: 'first-party', secret: 'first-party-secret-that-is-long-enough-0123456789' };
  await gh.gatehouse.store.clients.save({
    client_id: dyn.id,
    client_secret: dyn.secret,
    redirect_uris: [REDIRECT],
    grant_types: ['authorization_code', 'refresh_token'],
    scope: 'openid profile email offline_access api:read',
    first_party: true,
  });
  const config = await discoverClient(gh.issuer, dyn.id, dyn.secret);
  const { code, verifier } = await authorize(gh, config, { scope: 'openid api:read', prompt: 'login' });
  const post = async (params: Record<string, string>) => {
    const res = await fetch(new URL('/token', gh.issuer), {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${dyn.id}:${dyn.secret}`).toString('base64')}`,
      },
      body: new URLSearchParams(params),
    });
    return { status: res.status, body: (await res.json()) as Record<string, string> };
  };
  let answer = await post({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier });
  t.is(answer.status, 200);
  for (let i = 0; i < 3; i++)
    answer = await post({ grant_type: 'refresh_token', refresh_token: answer.body.refresh_token as string });
  const store = gh.gatehouse.store as RedisStore;
  t.true(
    (await store.adapter('RefreshToken').find(answer.body.refresh_token as string))?.expiresWithSession === true,
    'session-bound',
  );
  t.is(answer.body.access_token?.split('.').length, 3, 'a JWT access token');
  const writes = countWrites(store.client);
  const sent = countSent(store.client as Redis);
  const rounds = 10;
  await (store.client as Redis).config('RESETSTAT');
  writes.reset();
  sent.reset();
  for (let i = 0; i < rounds; i++) {
    answer = await post({ grant_type: 'refresh_token', refresh_token: answer.body.refresh_token as string });
    t.is(answer.status, 200);
  }
  const perRefresh = writes.count / rounds;
  // Two scripts: the prefetch (carrying both rate-limit counters) and the rotation.
  t.true(sent.count / rounds <= 2, `commands sent ${sent.count / rounds} per refresh`);
  const stats = await (store.client as Redis).info('commandstats');
  let executed = 0;
  for (const m of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
    if (m[1] !== 'config|resetstat') executed += Number(m[2]);
  t.log(
    `per refresh: ${perRefresh} socket writes (round trips), ${executed / rounds} commands executed in Redis incl. inside scripts`,
  );
  t.true(perRefresh <= 2, `round trips ${perRefresh} per refresh`);
});

/** Counts the commands an ioredis client sends (a script is one command, whatever it runs inside Redis). */
function countSent(client: Redis): { reset(): void; readonly count: number } {
  let sent = 0;
  const sendCommand = client.sendCommand.bind(client);
  client.sendCommand = ((...args: Parameters<Redis['sendCommand']>) => {
    sent++;
    return sendCommand(...args);
  }) as Redis['sendCommand'];
  return {
    reset: () => {
      sent = 0;
    },
    get count() {
      return sent;
    },
  };
}

// A client-credentials request with a stored client: its record and both rate-limit counters (per IP, per client)
// travel in one script, and each counter still counts every request.
test.serial('client credentials: the client record and both rate-limit counters in one command', async (t) => {
  const shared = await sharedSettings();
  const gh = await startRedisGatehouse(t, redis.url, shared, { 'rateLimit.windowSeconds': 3600 });
  const m2m = { id: 'machine', secret: 'machine-secret-that-is-long-enough-0123456789' };
  await gh.gatehouse.store.clients.save({
    client_id: m2m.id,
    client_secret: m2m.secret,
    redirect_uris: [],
    response_types: [],
    grant_types: ['client_credentials'],
    scope: 'api:read',
  });
  const ask = () =>
    fetch(new URL('/token', gh.issuer), {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${m2m.id}:${m2m.secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'api:read' }),
    });
  t.is((await ask()).status, 200);
  const client = (gh.gatehouse.store as RedisStore).client as Redis;
  const sent = countSent(client);
  const rounds = 10;
  for (let i = 0; i < rounds; i++) t.is((await ask()).status, 200);
  t.log(`per request: ${sent.count / rounds} commands sent`);
  t.true(sent.count / rounds <= 1, `commands sent ${sent.count / rounds} per request`);
  const counters = await client.keys(`${shared.keyPrefix}*rate:client:${m2m.id}:*`);
  t.is(counters.length, 1, 'one per-client window');
  t.is(Number(await client.get(defined(counters[0], 'counter'))), rounds + 1, 'every request counted');
});
