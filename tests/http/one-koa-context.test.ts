/**
 * One Koa application and one Koa context per request: oidc-provider's middleware runs on the host app's context,
 * so a request is handled (context, error handling, `respond`) once, whatever route it takes.
 *
 * A `provider.use` middleware added after start-up (so it is also proof that later `provider.use` calls take part)
 * sees the context the host app created: its `app` is the host app and its `state` carries the request id the host
 * put there. The provider's own Koa request handling is never entered.
 */
import test from 'ava';
import type Koa from 'koa';
import type { Context } from 'koa';
import { startGatehouse } from '../helpers/gatehouse.ts';

const SECRET = 'svc-secret-0123456789abcdef0123456789abcd';
const CLIENTS = [
  {
    client_id: 'svc',
    client_secret: SECRET,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
  },
];

/** What a Koa application does once per request it handles; counted on the instance. */
type Handling = { handleRequest(ctx: Context, fn: unknown): Promise<void> };

function countHandling(app: Koa): { count: number } {
  const counter = { count: 0 };
  const handling = app as unknown as Handling;
  const original = handling.handleRequest.bind(app);
  handling.handleRequest = (ctx, fn) => {
    counter.count++;
    return original(ctx, fn);
  };
  return counter;
}

test('the provider middleware runs on the host app context: one Koa context and one response per request', async (t) => {
  const gh = await startGatehouse(t, { clients: CLIENTS });
  const { app, provider } = gh.gatehouse;
  const host = countHandling(app);
  const library = countHandling(provider as unknown as Koa);
  const seen: Array<{ sameApp: boolean; requestId: unknown; path: string }> = [];
  provider.use(async (ctx, next) => {
    seen.push({ sameApp: ctx.app === app, requestId: ctx.state.requestId, path: ctx.path });
    await next();
  });

  // A form POST the host reads first (rate limiter, prefetch) and replays to the provider, which reads it again.
  const token = await fetch(`${gh.issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`svc:${SECRET}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials' }),
  });
  t.is(token.status, 200);
  t.is(typeof ((await token.json()) as { access_token?: unknown }).access_token, 'string');

  const discovery = await fetch(`${gh.issuer}/.well-known/openid-configuration`);
  t.is(discovery.status, 200);
  t.is(((await discovery.json()) as { issuer?: unknown }).issuer, gh.issuer);

  const head = await fetch(`${gh.issuer}/jwks`, { method: 'HEAD' });
  t.is(head.status, 200);
  t.is(await head.text(), '');

  // A path no route matches is answered by the error renderer.
  const missing = await fetch(`${gh.issuer}/no-such-endpoint`, { headers: { accept: 'application/json' } });
  t.is(missing.status, 404);
  t.deepEqual(await missing.json(), { error: 'not_found', error_description: 'no such page' });

  const ids = [token, discovery, head, missing].map((res) => res.headers.get('x-request-id'));
  t.deepEqual(seen, [
    { sameApp: true, requestId: ids[0], path: '/token' },
    { sameApp: true, requestId: ids[1], path: '/.well-known/openid-configuration' },
    { sameApp: true, requestId: ids[2], path: '/jwks' },
    { sameApp: true, requestId: ids[3], path: '/no-such-endpoint' },
  ]);
  t.is(host.count, 4);
  t.is(library.count, 0, "oidc-provider's own Koa request handling is never entered");
});

test("an error that escapes oidc-provider's middleware is answered by the host app's error renderer, without its details", async (t) => {
  const gh = await startGatehouse(t);
  // Outside every `provider.use` middleware (as the first of them, which `provider.use` cannot place), so outside
  // the error renderer the provider's stack ends with: what the session recording after an authorization would
  // throw.
  gh.gatehouse.provider.middleware.unshift(async (ctx, next) => {
    await next();
    if (ctx.path === '/jwks') throw new Error('escaped after the provider answered');
  });
  const res = await fetch(`${gh.issuer}/jwks`, { headers: { accept: 'application/json' } });
  t.is(res.status, 500);
  const body = await res.text();
  t.like(JSON.parse(body), { error: 'server_error' });
  t.notRegex(body, /escaped|at .*\.ts/);
  t.truthy(res.headers.get('x-request-id'), 'the host headers are kept');
  t.truthy(res.headers.get('content-security-policy'));
  t.true(gh.logs.some((l) => l.msg === 'request failed' && l.path === '/jwks'));
  t.true(gh.logs.some((l) => l.msg === 'request' && l.path === '/jwks' && l.status === 500));
});
