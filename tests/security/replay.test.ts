/**
 * A client assertion (RFC 7523, `client_secret_jwt`) is accepted once: the same assertion sent 8 times at once
 * gets exactly one token, on the memory store and on a real Redis (oidc-provider's ReplayDetection, whose find
 * each store makes an atomic claim — src/storage/reuse-policy.ts REPLAY_CLAIM_MS).
 */
import { randomUUID } from 'node:crypto';
import test from 'ava';
import { SignJWT } from 'jose';
import { startGatehouse } from '../helpers/gatehouse.ts';
import { startRedis } from '../helpers/redis.ts';

const CLIENT = { id: 'jwt-client', secret: 'jwt-client-secret-0123456789abcdef0123456789abcdef' };

for (const backend of ['memory', 'redis'] as const) {
  test(`${backend}: one client_secret_jwt assertion sent 8 times at once is accepted exactly once`, async (t) => {
    const redisUrl = backend === 'redis' ? (await startRedis(t)).url : '';
    const gh = await startGatehouse(t, {
      'redis.url': redisUrl,
      clients: [
        {
          client_id: CLIENT.id,
          client_secret: CLIENT.secret,
          token_endpoint_auth_method: 'client_secret_jwt',
          grant_types: ['client_credentials'],
          redirect_uris: [],
          response_types: [],
        },
      ],
    });
    const endpoint = new URL('/token', gh.issuer).href;
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(CLIENT.id)
      .setSubject(CLIENT.id)
      .setAudience(endpoint)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime('2m')
      .sign(new TextEncoder().encode(CLIENT.secret));
    const send = () =>
      fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: assertion,
        }),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));
    const results = await Promise.all(Array.from({ length: 8 }, send));
    t.is(results.filter((r) => r.status === 200).length, 1, JSON.stringify(results.map((r) => r.status)));
    for (const r of results.filter((r) => r.status !== 200)) {
      t.true(r.status === 400 || r.status === 401, String(r.status));
      t.is(r.body.error, 'invalid_client');
    }
    const again = await send();
    t.is(again.body.error, 'invalid_client', 'and never again later');
  });
}
