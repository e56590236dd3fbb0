/**
 * A sign-in page held open for repeated password attempts: one interaction (a failed attempt leaves it on the
 * login prompt), many POSTs, each from a chosen client IP (X-Forwarded-For, honoured when trustProxy is on).
 */
import { CookieJar, request } from '../helpers/browserless-login.ts';

export interface LoginPage {
  /** POSTs the form; returns the HTTP status (401 refused, 303 signed in) and the body. `signal` aborts it. */
  attempt(
    username: string,
    password: string,
    ip?: string,
    signal?: AbortSignal,
  ): Promise<{ status: number; retryAfter: string | null; html: string }>;
}

export async function openLoginPage(
  issuer: string,
  clientId = 'client-a',
  redirectUri = 'https://app.example/cb',
  ip = '192.0.2.1',
): Promise<LoginPage> {
  const jar = new CookieJar();
  const origin = new URL(issuer).origin;
  const auth = `${issuer}/auth?${new URLSearchParams({ client_id: clientId, response_type: 'code', scope: 'openid', redirect_uri: redirectUri })}`;
  const start = await request(auth, jar, {}, { 'x-forwarded-for': ip });
  const page = new URL(start.headers.get('location') as string, issuer).href;
  const html = await (await request(page, jar, {}, { 'x-forwarded-for': ip })).text();
  const action = /action="([^"]*\/login)"/.exec(html)?.[1];
  if (!action) throw new Error('no login form');
  const target = new URL(action, origin).href;
  return {
    async attempt(username, password, from = ip, signal) {
      const res = await request(
        target,
        jar,
        {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
          body: new URLSearchParams({ username, password }).toString(),
          ...(signal ? { signal } : {}),
        },
        { 'x-forwarded-for': from },
      );
      return { status: res.status, retryAfter: res.headers.get('retry-after'), html: await res.text() };
    },
  };
}
