/**
 * Every endpoint answers malformed, missing, duplicated, oversized or wrongly-typed input with a 4xx and an
 * error code (OAuth JSON for APIs, the error page for browsers) — never a 5xx, never a stack trace.
 */
import test from 'ava';
import { startGatehouse, type TestGatehouse } from '../helpers/gatehouse.ts';

const SECRET = 'bad-input-secret-0123456789abcdef0123456789abcdef';
const basic = `Basic ${Buffer.from(`svc:${SECRET}`).toString('base64')}`;

let gh: TestGatehouse;
test.before(async () => {
  gh = await startGatehouse(undefined, {
    clients: [
      {
        client_id: 'svc',
        client_secret: SECRET,
        redirect_uris: ['https://svc.example/cb'],
        grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      },
    ],
  });
});
test.after.always(async () => {
  gh.server.closeAllConnections();
  gh.server.close();
  await gh.gatehouse.close();
});

interface Case {
  name: string;
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  status: number;
  error?: string;
  html?: boolean;
}

const form = { 'content-type': 'application/x-www-form-urlencoded' };
const auth = { ...form, authorization: basic };

const cases: Case[] = [
  // authorization endpoint (browser): the error page, no redirect to an unverified redirect_uri
  {
    name: 'authorize without client_id',
    path: '/auth?response_type=code',
    status: 400,
    error: 'invalid_request',
    html: true,
  },
  {
    name: 'authorize with unknown client',
    path: '/auth?client_id=nope&response_type=code&scope=openid',
    status: 400,
    error: 'invalid_client',
    html: true,
  },
  {
    name: 'authorize with unregistered redirect_uri',
    path: '/auth?client_id=svc&response_type=code&scope=openid&redirect_uri=https%3A%2F%2Fevil.example%2Fcb',
    status: 400,
    error: 'invalid_redirect_uri',
    html: true,
  },
  {
    name: 'authorize with duplicated parameter',
    path: '/auth?client_id=svc&client_id=svc&response_type=code&scope=openid',
    status: 400,
    error: 'invalid_request',
    html: true,
  },
  {
    name: 'authorize with a 4 kB parameter',
    path: `/auth?client_id=${'x'.repeat(4_000)}&response_type=code`,
    status: 400,
    error: 'invalid_client',
    html: true,
  },
  {
    name: 'authorize with a 20 kB URL (over the header limit)',
    path: `/auth?client_id=${'x'.repeat(20_000)}`,
    status: 431,
    html: true,
  },
  // token endpoint
  {
    name: 'token without grant_type',
    method: 'POST',
    path: '/token',
    headers: auth,
    body: '',
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'token with unknown grant',
    method: 'POST',
    path: '/token',
    headers: auth,
    body: 'grant_type=password&username=a&password=b',
    status: 400,
    error: 'unsupported_grant_type',
  },
  {
    name: 'token with implicit-style grant',
    method: 'POST',
    path: '/token',
    headers: auth,
    body: 'grant_type=implicit',
    status: 400,
    error: 'unsupported_grant_type',
  },
  {
    name: 'token with duplicated grant_type',
    method: 'POST',
    path: '/token',
    headers: auth,
    body: 'grant_type=client_credentials&grant_type=client_credentials',
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'token with bad client secret',
    method: 'POST',
    path: '/token',
    headers: { ...form, authorization: `Basic ${Buffer.from('svc:wrong').toString('base64')}` },
    body: 'grant_type=client_credentials',
    status: 401,
    error: 'invalid_client',
  },
  {
    name: 'token with malformed Basic header',
    method: 'POST',
    path: '/token',
    headers: { ...form, authorization: 'Basic %%%' },
    body: 'grant_type=client_credentials',
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'token with JSON body',
    method: 'POST',
    path: '/token',
    headers: { 'content-type': 'application/json', authorization: basic },
    body: '{"grant_type":"client_credentials"}',
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'token with unknown code',
    method: 'POST',
    path: '/token',
    headers: auth,
    body: 'grant_type=authorization_code&code=nope&redirect_uri=https%3A%2F%2Fsvc.example%2Fcb',
    status: 400,
    error: 'invalid_grant',
  },
  {
    name: 'token with unknown refresh token',
    method: 'POST',
    path: '/token',
    headers: auth,
    body: 'grant_type=refresh_token&refresh_token=nope',
    status: 400,
    error: 'invalid_grant',
  },
  {
    name: 'token with unknown resource',
    method: 'POST',
    path: '/token',
    headers: auth,
    body: 'grant_type=client_credentials&resource=https%3A%2F%2Fnot.registered',
    status: 400,
    error: 'invalid_target',
  },
  {
    name: 'token with invalid UTF-8',
    method: 'POST',
    path: '/token',
    headers: auth,
    body: Uint8Array.from([0x67, 0x72, 0x61, 0x6e, 0x74, 0x5f, 0x74, 0x79, 0x70, 0x65, 0x3d, 0xff, 0xfe]),
    status: 400,
    error: 'unsupported_grant_type',
  },
  {
    name: 'token body over the limit',
    method: 'POST',
    path: '/token',
    headers: auth,
    body: `grant_type=client_credentials&x=${'a'.repeat(70_000)}`,
    status: 413,
    error: 'invalid_request',
  },
  { name: 'token with GET', path: '/token', status: 404, error: 'not_found' },
  // userinfo
  { name: 'userinfo without token', path: '/me', status: 401, error: 'invalid_token' },
  {
    name: 'userinfo with forged token',
    path: '/me',
    headers: { authorization: 'Bearer abc.def.ghi' },
    status: 401,
    error: 'invalid_token',
  },
  {
    name: 'userinfo with two tokens',
    path: '/me?access_token=x',
    headers: { authorization: 'Bearer y' },
    status: 400,
    error: 'invalid_request',
  },
  // introspection / revocation
  {
    name: 'introspection without client auth',
    method: 'POST',
    path: '/token/introspection',
    headers: form,
    body: 'token=x',
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'introspection without token',
    method: 'POST',
    path: '/token/introspection',
    headers: auth,
    body: '',
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'revocation without token',
    method: 'POST',
    path: '/token/revocation',
    headers: auth,
    body: '',
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'revocation of unknown token is fine (RFC 7009)',
    method: 'POST',
    path: '/token/revocation',
    headers: auth,
    body: 'token=unknown',
    status: 200,
  },
  // PAR
  {
    name: 'PAR without client auth',
    method: 'POST',
    path: '/request',
    headers: form,
    body: 'response_type=code',
    status: 400,
    error: 'invalid_request',
  },
  {
    name: 'PAR with request_uri inside',
    method: 'POST',
    path: '/request',
    headers: auth,
    body: 'response_type=code&scope=openid&request_uri=urn:x',
    status: 400,
    error: 'request_uri_not_supported',
  },
  // end_session
  {
    name: 'end_session with forged id_token_hint',
    path: '/session/end?id_token_hint=abc.def.ghi',
    status: 400,
    error: 'invalid_request',
    html: true,
  },
  {
    name: 'end_session with unregistered post_logout_redirect_uri',
    path: '/session/end?client_id=svc&post_logout_redirect_uri=https%3A%2F%2Fevil.example',
    status: 400,
    html: true,
    error: 'invalid_request',
  },
  // Gatehouse's own routes
  {
    name: 'unknown interaction',
    path: '/interaction/does-not-exist',
    status: 400,
    html: true,
    error: 'invalid_request',
  },
  {
    name: 'interaction id with bad characters',
    path: '/interaction/%3Cscript%3E',
    status: 404,
    html: true,
    error: 'not_found',
  },
  {
    name: 'login POST without interaction cookie',
    method: 'POST',
    path: '/interaction/abc/login',
    headers: form,
    body: 'username=a&password=b',
    status: 400,
    html: true,
    error: 'invalid_request',
  },
  {
    name: 'login with PUT',
    method: 'PUT',
    path: '/interaction/abc/login',
    status: 405,
    html: true,
    error: 'invalid_request',
  },
  {
    name: 'cross-site login POST',
    method: 'POST',
    path: '/interaction/abc/login',
    headers: { ...form, origin: 'https://evil.example' },
    body: 'username=a&password=b',
    status: 403,
    html: true,
    error: 'invalid_request',
  },
  { name: 'unknown path (JSON)', path: '/nope', status: 404, error: 'not_found' },
];

/** The OAuth error code an answer carries: the JSON `error`, or the error page's code; undefined if none. */
function errorCodeIn(text: string, contentType: string): string | undefined {
  if (contentType.includes('json')) return (JSON.parse(text) as { error?: string }).error;
  return /<code class="error-code">([a-z_]+)<\/code>/.exec(text)?.[1];
}

for (const c of cases) {
  test(`${c.name} → ${c.status}`, async (t) => {
    const res = await fetch(`${gh.issuer}${c.path}`, {
      method: c.method ?? 'GET',
      headers: { accept: c.html ? 'text/html' : 'application/json', ...c.headers },
      body: c.body,
      redirect: 'manual',
    }).catch((err: Error) => {
      // Node's fetch refuses to send a body whose length disagrees with Content-Length; send that one raw.
      throw err;
    });
    const text = await res.text();
    t.is(res.status, c.status, text.slice(0, 300));
    t.notRegex(text, /\bat [\w.<>]+ \(|node:internal|\.ts:\d+/, 'no stack trace');
    // What each case expects of the answer's body: an HTML page (with the error code, when the case names one),
    // or a JSON error. 431 is answered by Node's HTTP parser, before Gatehouse, without a body type of its own.
    const type = res.headers.get('content-type') ?? '';
    t.is(/text\/html/.test(type), Boolean(c.html) && res.status !== 431, `an HTML page: ${type}`);
    t.is(errorCodeIn(text, type), c.error, 'error code in the body');
  });
}

test('a declared Content-Length over the limit is refused before the body is read → 413', async (t) => {
  const { request } = await import('node:http');
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(`${gh.issuer}/interaction/abc/login`, {
      method: 'POST',
      headers: { ...form, 'content-length': '10000000', accept: 'application/json' },
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode as number);
      req.destroy();
    });
    req.on('error', reject);
    req.write('username=a');
  });
  t.is(status, 413);
});

test('the server still serves after all of that', async (t) => {
  const res = await fetch(`${gh.issuer}/token`, {
    method: 'POST',
    headers: auth,
    body: 'grant_type=client_credentials',
  });
  t.is(res.status, 200);
  t.false(
    gh.logs.some((l) => (l.status as number) >= 500),
    'no request ended in a 5xx',
  );
});
