/**
 * RFC 6750 behaviour of the middleware: where tokens may be, and what each failure answers (status,
 * WWW-Authenticate and JSON body).
 */
import test from 'ava';
import Koa from 'koa';
import pino from 'pino';
import type { AccessToken } from '../../src/resource-server/access-token.ts';
import { bearerErrorRenderer } from '../../src/resource-server/bearer-error.ts';
import { createTokenGuard } from '../../src/resource-server/middleware.ts';
import { AUDIENCE, call, serve, startApi } from './api.ts';
import { makeKey, startTestIssuer } from './test-issuer.ts';

async function setup(t: Parameters<typeof startTestIssuer>[0]) {
  const iss = await startTestIssuer(t, [await makeKey('k1')]);
  const { url } = await startApi(t, { issuer: iss.issuer });
  return { iss, url };
}

test('the health endpoint is public', async (t) => {
  const { url } = await setup(t);
  const res = await call(`${url}/api/health`);
  t.is(res.status, 200);
  t.deepEqual(res.body, { status: 'ok' });
});

test('no token: 401 with a Bearer challenge naming the realm and no error code', async (t) => {
  const { url } = await setup(t);
  const res = await call(`${url}/api/profile`);
  t.is(res.status, 401);
  t.is(res.challenge, `Bearer realm="${AUDIENCE}"`);
  t.is(res.body.error, undefined);
  t.truthy(res.body.error_description);
});

test('an Authorization header of another scheme counts as no bearer token', async (t) => {
  const { url } = await setup(t);
  const res = await call(`${url}/api/profile`, undefined, { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
  t.is(res.status, 401);
  t.is(res.challenge, `Bearer realm="${AUDIENCE}"`);
});

for (const [name, header] of [
  ['Bearer without a token', 'Bearer'],
  ['Bearer with an empty token', 'Bearer '],
  ['two words after Bearer', 'Bearer abc def'],
  ['characters outside b64token', 'Bearer abc$def'],
  ['two spaces', 'Bearer  abc'],
]) {
  test(`malformed header (${name}): 400 invalid_request`, async (t) => {
    const { url } = await setup(t);
    const res = await call(`${url}/api/profile`, undefined, { headers: { authorization: header as string } });
    t.is(res.status, 400);
    t.is(res.body.error, 'invalid_request');
    t.regex(
      res.challenge ?? '',
      /^Bearer realm="http:\/\/localhost:4000", error="invalid_request", error_description="[^"]+"$/,
    );
  });
}

test('a token in the URL query is refused with invalid_request', async (t) => {
  const { iss, url } = await setup(t);
  const token = await iss.sign(iss.goodClaims(AUDIENCE));
  const res = await call(`${url}/api/profile?access_token=${token}`);
  t.is(res.status, 400);
  t.is(res.body.error, 'invalid_request');
});

test('form-body token (RFC 6750 2.2) is accepted; header and body together are invalid_request', async (t) => {
  const iss = await startTestIssuer(t, [await makeKey('k1')]);
  const guard = createTokenGuard({ issuer: iss.issuer, audience: AUDIENCE });
  const app = new Koa();
  app.use(bearerErrorRenderer(guard.realm, pino({ level: 'silent' })));
  app.use(guard.authenticate);
  app.use(guard.requireScope('api:write'));
  app.use(async (ctx) => {
    ctx.body = {
      sub: (ctx.state.accessToken as AccessToken).sub,
      note: (ctx.state.form as Map<string, string>).get('note'),
    };
  });
  const url = await serve(t, app);
  const token = await iss.sign(iss.goodClaims(AUDIENCE, { scope: 'api:read api:write' }));
  const form = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' } };

  const ok = await call(url, undefined, {
    ...form,
    body: new URLSearchParams({ access_token: token, note: 'hi' }).toString(),
  });
  t.is(ok.status, 200);
  t.deepEqual(ok.body, { sub: 'user-1', note: 'hi' });

  const both = await call(url, token, { ...form, body: new URLSearchParams({ access_token: token }).toString() });
  t.is(both.status, 400);
  t.is(both.body.error, 'invalid_request');
  t.regex(both.challenge ?? '', /error="invalid_request"/);
});

test('a valid token reaches the profile with its subject, client and claims', async (t) => {
  const { iss, url } = await setup(t);
  const res = await call(`${url}/api/profile`, await iss.sign(iss.goodClaims(AUDIENCE)));
  t.is(res.status, 200);
  t.is(res.body.sub, 'user-1');
  t.is(res.body.client_id, 'demo-client');
  t.deepEqual(res.body.roles, ['user']);
  t.is(res.body.checked_by, 'jwt');
  t.is((res.body.claims as Record<string, unknown>).iss, iss.issuer);
});

test('missing scope: 403 insufficient_scope naming the scope', async (t) => {
  const { iss, url } = await setup(t);
  const res = await call(`${url}/api/profile`, await iss.sign(iss.goodClaims(AUDIENCE, { scope: 'api:write' })));
  t.is(res.status, 403);
  t.is(res.body.error, 'insufficient_scope');
  t.is(res.body.scope, 'api:read');
  t.regex(res.challenge ?? '', /error="insufficient_scope", error_description="[^"]+", scope="api:read"$/);
});

test('the admin endpoint requires the admin role', async (t) => {
  const { iss, url } = await setup(t);
  const user = await call(`${url}/api/admin`, await iss.sign(iss.goodClaims(AUDIENCE)));
  t.is(user.status, 403);
  t.is(user.body.error, 'insufficient_scope');
  const admin = await call(`${url}/api/admin`, await iss.sign(iss.goodClaims(AUDIENCE, { roles: ['user', 'admin'] })));
  t.is(admin.status, 200);
  t.deepEqual(admin.body.roles, ['user', 'admin']);
});

test('unknown paths are 404 and other methods 405, as JSON', async (t) => {
  const { url } = await setup(t);
  const missing = await call(`${url}/nope`);
  t.is(missing.status, 404);
  t.is(missing.body.error, 'not_found');
  const post = await call(`${url}/api/profile`, undefined, { method: 'POST' });
  t.is(post.status, 405);
});

test('an unreadable form body is a 4xx of its own, a failing route a 500 without details', async (t) => {
  const guard = createTokenGuard({ issuer: 'http://127.0.0.1:9/', audience: AUDIENCE });
  const app = new Koa();
  app.use(bearerErrorRenderer(guard.realm, pino({ level: 'silent' })));
  app.use(async (ctx, next) => {
    if (ctx.path === '/boom') throw new Error('secret internal detail');
    return next();
  });
  app.use(guard.authenticate);
  const url = await serve(t, app);
  const form = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' } };

  const big = await call(url, undefined, { ...form, body: `access_token=abc&pad=${'a'.repeat(70_000)}` });
  t.is(big.status, 413);
  t.deepEqual(big.body, { error: 'invalid_request', error_description: 'request body too large' });

  const twice = await call(url, undefined, { ...form, body: 'access_token=abc&access_token=def' });
  t.is(twice.status, 400);
  t.is(twice.body.error, 'invalid_request');
  t.regex(twice.challenge ?? '', /error="invalid_request"/);

  const garbled = await call(url, undefined, { ...form, body: Uint8Array.from([0x61, 0x3d, 0xff, 0xfe]) });
  t.is(garbled.status, 400);
  t.is(garbled.body.error, 'invalid_request');

  const boom = await call(`${url}/boom`);
  t.is(boom.status, 500);
  t.deepEqual(boom.body, { error: 'server_error', error_description: 'an unexpected error occurred' });
});
