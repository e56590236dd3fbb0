/**
 * `npm run demo` as a person runs it: the real entry point in a child process starts Gatehouse, the demo API
 * and the demo client; a sign-in through the client works end to end; Ctrl-C (SIGINT) stops all three.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { CookieJar, loginThroughPages, request } from '../helpers/browserless-login.ts';
import { freePort, waitFor } from '../../bench/lib/processes.ts';
import { startNode } from '../helpers/child.ts';

async function refused(url: string): Promise<boolean> {
  try {
    await fetch(url);
    return false;
  } catch {
    return true;
  }
}

function startDemo(ports: { gh: number; api: number; web: number }, extra: NodeJS.ProcessEnv = {}) {
  const origin = `http://localhost:${ports.web}`;
  const child = startNode('src/demo/main.ts', [], {
    DATA_DIR: mkdtempSync(join(tmpdir(), 'gatehouse-demo-')),
    PORT: String(ports.gh),
    ISSUER: `http://localhost:${ports.gh}`,
    API_PORT: String(ports.api),
    DEMO_REDIRECT_URI: `${origin}/callback`,
    DEMO_POST_LOGOUT_REDIRECT_URI: `${origin}/`,
    ARGON2_MEMORY_KIB: '1024',
    ARGON2_TIME_COST: '1',
    ...extra,
  });
  return { child, origin, issuer: `http://localhost:${ports.gh}` };
}

async function signInAndCall(origin: string, issuer: string) {
  const jar = new CookieJar();
  const start = await request(`${origin}/login`, jar);
  const { callback } = await loginThroughPages(start.headers.get('location') as string, issuer, {
    username: 'demo',
    password: 'demo-password',
    jar,
  });
  const back = await request(callback.href, jar);
  const called = await request(`${origin}/call/profile`, jar, {
    method: 'POST',
    headers: { 'x-demo-request': '1', origin },
  });
  return {
    back,
    answer: (await called.json()) as {
      status: number;
      body: { client_id: string; checked_by: string; expires_at: number };
    },
  };
}

test('API_TOKEN_CHECK=introspection npm run demo: opaque tokens, introspected by the API', async (t) => {
  const demo = startDemo(
    { gh: await freePort(), api: await freePort(), web: await freePort() },
    { API_TOKEN_CHECK: 'introspection' },
  );
  t.teardown(() => demo.child.kill('SIGKILL'));
  await waitFor(() => demo.child.out().includes('Ctrl-C stops everything'), 'the demo to start');
  t.regex(demo.child.out(), /checks tokens by introspection/);
  const { answer } = await signInAndCall(demo.origin, demo.issuer);
  t.is(answer.status, 200);
  t.is(answer.body.checked_by, 'introspection');
  demo.child.kill('SIGINT');
  t.is(await demo.child.exited, 0);
  t.is(demo.child.err(), '');
});

test('npm run demo starts all three, signs in through the client, and Ctrl-C stops everything', async (t) => {
  const ports = { gh: await freePort(), api: await freePort(), web: await freePort() };
  const demo = startDemo(ports);
  t.teardown(() => demo.child.kill('SIGKILL'));
  await waitFor(() => demo.child.out().includes('Ctrl-C stops everything'), 'the demo to start');
  t.regex(demo.child.out(), new RegExp(`Demo web client: +${demo.origin}/`));
  t.regex(demo.child.out(), /Access tokens live 30 s/);

  t.is((await fetch(`${demo.issuer}/.well-known/openid-configuration`)).status, 200);
  t.is((await fetch(`http://localhost:${ports.api}/api/health`)).status, 200);

  const { back, answer } = await signInAndCall(demo.origin, demo.issuer);
  t.is(back.status, 303);
  t.is(answer.status, 200);
  t.is(answer.body.client_id, 'demo-client');
  t.is(answer.body.checked_by, 'jwt');
  const claims = (answer.body as unknown as { claims: { iat: number } }).claims;
  t.is(answer.body.expires_at - claims.iat, 30, 'the demo issues 30-second access tokens');

  // Ctrl-C in a terminal sends SIGINT to the process.
  demo.child.kill('SIGINT');
  t.is(await demo.child.exited, 0);
  t.is(demo.child.err(), '', 'nothing on stderr');
  for (const port of Object.values(ports)) t.true(await refused(`http://localhost:${port}/`), `port ${port} closed`);
});

test('a bad demo setting stops npm run demo with exit 1 before anything listens, naming its variable', async (t) => {
  const ports = { gh: await freePort(), api: await freePort(), web: await freePort() };
  const demo = startDemo(ports, { DEMO_PORT: 'lots' });
  t.teardown(() => demo.child.kill('SIGKILL'));
  t.is(await demo.child.exited, 1);
  t.is(demo.child.err(), 'demo: invalid configuration: DEMO_PORT: must be an integer\n');
  t.is(demo.child.out(), '');
  for (const port of Object.values(ports)) t.true(await refused(`http://localhost:${port}/`), `port ${port} closed`);
});
