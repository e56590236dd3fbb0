/**
 * Serves an app under test on a real HTTP server on port 0 and returns its base URL.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ExecutionContext } from 'ava';
import type Koa from 'koa';
import pino from 'pino';
import { createDemoApi } from '../../src/demo/api/app.ts';
import { createTokenGuard, type TokenGuard, type TokenGuardOptions } from '../../src/resource-server/middleware.ts';

export const AUDIENCE = 'http://localhost:4000';

export async function serve(t: ExecutionContext, app: Koa): Promise<string> {
  const server = createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export async function startApi(
  t: ExecutionContext,
  opts: Partial<TokenGuardOptions> & { issuer: string },
): Promise<{ url: string; guard: TokenGuard }> {
  const guard = createTokenGuard({ audience: AUDIENCE, ...opts });
  const url = await serve(t, createDemoApi(guard, pino({ level: 'silent' })));
  return { url, guard };
}

export async function call(
  url: string,
  token?: string,
  init: RequestInit = {},
): Promise<{ status: number; challenge: string | null; body: Record<string, unknown> }> {
  const headers = new Headers(init.headers);
  if (token !== undefined) headers.set('authorization', `Bearer ${token}`);
  const res = await fetch(url, { ...init, headers });
  const text = await res.text();
  return { status: res.status, challenge: res.headers.get('www-authenticate'), body: text ? JSON.parse(text) : {} };
}
