/**
 * Drives Gatehouse's sign-in and consent pages over plain HTTP, like a browser without JavaScript: follows
 * redirects by hand, keeps cookies, submits the forms. Returns the redirect to the client's redirect_uri.
 */
import * as oidc from 'openid-client';
import { CookieJar } from '../../bench/lib/oauth.ts';
export { CookieJar };

export interface LoginOptions {
  username: string;
  password: string;
  /** What to answer on a consent page. */
  consent?: 'allow' | 'deny';
  jar?: CookieJar;
  /** Extra headers on every request (e.g. X-Forwarded-For is ignored unless proxy trust is on). */
  headers?: Record<string, string>;
  /** A redirect URI on Gatehouse's own origin (its development callback page): the flow ends there too. */
  callbackPrefix?: string;
}

export interface LoginResult {
  /** The final Location that leaves Gatehouse (the client's redirect_uri with code or error). */
  callback: URL;
  jar: CookieJar;
  /** Every page Gatehouse rendered on the way. */
  pages: string[];
}

export async function request(
  url: string,
  jar: CookieJar,
  init: RequestInit = {},
  headers: Record<string, string> = {},
): Promise<Response> {
  const res = await fetch(url, {
    ...init,
    redirect: 'manual',
    headers: { ...(init.headers as Record<string, string>), ...headers, cookie: jar.header(), accept: 'text/html' },
  });
  jar.store(res);
  return res;
}

function formAction(html: string, pattern: RegExp): string | undefined {
  return pattern.exec(html)?.[1]?.replaceAll('&amp;', '&');
}

export async function loginThroughPages(
  authorizationUrl: URL | string,
  issuer: string,
  opts: LoginOptions,
): Promise<LoginResult> {
  const jar = opts.jar ?? new CookieJar();
  const pages: string[] = [];
  const origin = new URL(issuer).origin;
  let url = String(authorizationUrl);
  for (let hop = 0; hop < 20; hop++) {
    if (!url.startsWith(origin) || (opts.callbackPrefix !== undefined && url.startsWith(opts.callbackPrefix)))
      return { callback: new URL(url), jar, pages };
    const res = await request(url, jar, {}, opts.headers);
    if (res.status >= 300 && res.status < 400) {
      url = new URL(res.headers.get('location') as string, url).toString();
      continue;
    }
    const html = await res.text();
    pages.push(html);
    const login = formAction(html, /action="([^"]*\/login)"/);
    const confirm = formAction(html, /action="([^"]*\/confirm)"/);
    let post: Response;
    if (login) {
      post = await request(
        new URL(login, origin).toString(),
        jar,
        {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
          body: new URLSearchParams({ username: opts.username, password: opts.password }).toString(),
        },
        opts.headers,
      );
    } else if (confirm) {
      post = await request(
        new URL(confirm, origin).toString(),
        jar,
        {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
          body: new URLSearchParams({ decision: opts.consent ?? 'allow' }).toString(),
        },
        opts.headers,
      );
    } else {
      throw new Error(
        `unexpected page (status ${res.status}): ${(/<main>([\s\S]*)<\/main>/.exec(html)?.[1] ?? html).slice(0, 400)}`,
      );
    }
    if (post.status === 401) throw Object.assign(new Error('login failed'), { status: 401, html: await post.text() });
    if (post.status < 300 || post.status >= 400)
      throw new Error(`form post answered ${post.status}: ${(await post.text()).slice(0, 300)}`);
    url = new URL(post.headers.get('location') as string, url).toString();
  }
  throw new Error('too many redirects');
}

/**
 * An authorization request with PKCE (S256, a fresh verifier) and `prompt=consent`, signed in through the pages as
 * `user` (with its cookie jar and headers, if given): the callback the browser was sent to, the verifier for the code exchange and the browser's cookies.
 * `params` are added to (or override) the request's parameters.
 */
export async function authorizeWithPkce(
  config: oidc.Configuration,
  issuer: string,
  user: LoginOptions,
  params: Record<string, string>,
): Promise<{ callback: URL; verifier: string; jar: CookieJar }> {
  const verifier = oidc.randomPKCECodeVerifier();
  const url = oidc.buildAuthorizationUrl(config, {
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    prompt: 'consent',
    ...params,
  });
  const { callback, jar } = await loginThroughPages(url, issuer, { ...user });
  return { callback, verifier, jar };
}

/**
 * openid-client's configuration for client `clientId` of the Gatehouse at `issuer` (discovery over plain http on
 * loopback): confidential with `clientSecret` (client_secret_basic, openid-client's default), public without.
 */
export function discoverClient(issuer: string, clientId: string, clientSecret?: string): Promise<oidc.Configuration> {
  return oidc.discovery(new URL(issuer), clientId, clientSecret, clientSecret === undefined ? oidc.None() : undefined, {
    execute: [oidc.allowInsecureRequests],
  });
}

/**
 * The demo user's tokens for `resource` from a code flow of the confidential client `client` (authorizeWithPkce,
 * then the code exchange with the same resource indicator).
 */
export async function demoUserTokens(
  issuer: string,
  client: { id: string; secret: string; redirectUri: string },
  scope: string,
  resource: string,
): Promise<oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers> {
  const config = await discoverClient(issuer, client.id, client.secret);
  const { callback, verifier } = await authorizeWithPkce(
    config,
    issuer,
    { username: 'demo', password: 'demo-password' },
    { redirect_uri: client.redirectUri, scope, resource },
  );
  return oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier }, { resource });
}
