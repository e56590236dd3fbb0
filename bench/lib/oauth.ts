/**
 * The relying party's side of the flows the bench drives, over plain HTTP like a browser without JavaScript:
 * the authorization request with PKCE, Gatehouse's sign-in and consent forms, the redirect to the client, and
 * the token endpoint. Used to mint tokens and codes before a timed run, and by the login-storm driver.
 *
 * Rules: only public behaviour (discovery, the pages' forms, RFC 6749 endpoints); cookies are kept per
 * virtual browser; a page the flow does not expect is an error with its status, never a silent success.
 */
import { createHash, randomBytes } from 'node:crypto';

export interface Endpoints {
  issuer: string;
  authorization: string;
  token: string;
  userinfo: string;
  introspection: string;
}

export interface ClientCreds {
  id: string;
  secret: string;
  redirectUri: string;
}

export interface User {
  username: string;
  password: string;
}

export async function discover(issuer: string): Promise<Endpoints> {
  const res = await fetch(`${issuer}/.well-known/openid-configuration`);
  if (res.status !== 200) throw new Error(`discovery answered ${res.status}`);
  const d = (await res.json()) as Record<string, unknown>;
  const endpoint = (name: string): string => {
    const value = d[name];
    if (typeof value !== 'string') throw new Error(`discovery lacks ${name}`);
    return value;
  };
  return {
    issuer,
    authorization: endpoint('authorization_endpoint'),
    token: endpoint('token_endpoint'),
    userinfo: endpoint('userinfo_endpoint'),
    introspection: endpoint('introspection_endpoint'),
  };
}

function locationOf(res: Response): string {
  const location = res.headers.get('location');
  if (location === null) throw new Error(`a ${res.status} redirect without a Location header`);
  return location;
}

export function basicAuth(client: { id: string; secret: string }): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64')}`;
}

/** The cookies a browser would keep between requests (shared by the bench and the tests). */
export class CookieJar {
  readonly #cookies = new Map<string, string>();

  store(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const pair = line.split(';')[0] ?? '';
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  get size(): number {
    return this.#cookies.size;
  }
}

export interface Pkce {
  verifier: string;
  challenge: string;
}

export function pkce(): Pkce {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export function authorizationUrl(ep: Endpoints, client: ClientCreds, scope: string, challenge: string): string {
  const url = new URL(ep.authorization);
  url.search = new URLSearchParams({
    client_id: client.id,
    response_type: 'code',
    redirect_uri: client.redirectUri,
    scope,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: randomBytes(12).toString('base64url'),
    nonce: randomBytes(12).toString('base64url'),
  }).toString();
  return url.toString();
}

async function send(url: string, jar: CookieJar, init: RequestInit = {}): Promise<Response> {
  const res = await fetch(url, {
    ...init,
    redirect: 'manual',
    headers: { ...(init.headers as Record<string, string>), cookie: jar.header(), accept: 'text/html' },
  });
  jar.store(res);
  return res;
}

function formAction(html: string, action: 'login' | 'confirm'): string | undefined {
  return new RegExp(`action="([^"]*/${action})"`).exec(html)?.[1]?.replaceAll('&amp;', '&');
}

export interface BrowserResult {
  /** The authorization code from the redirect to the client. */
  code: string;
  /** How many password forms were submitted on the way (1 for a fresh login, 0 with a live session). */
  passwordPosts: number;
}

/**
 * Follows an authorization request through Gatehouse's pages to the client's redirect URI: signs in when the
 * sign-in form appears, allows when the consent form appears.
 */
export async function browse(
  startUrl: string,
  ep: Endpoints,
  user: User,
  jar: CookieJar,
  redirectUri: string,
): Promise<BrowserResult> {
  const origin = new URL(ep.issuer).origin;
  let url = startUrl;
  let passwordPosts = 0;
  for (let hop = 0; hop < 20; hop++) {
    if (url.startsWith(redirectUri)) {
      const back = new URL(url);
      const code = back.searchParams.get('code');
      if (!code)
        throw new Error(
          `authorization failed: ${back.searchParams.get('error')} ${back.searchParams.get('error_description') ?? ''}`,
        );
      return { code, passwordPosts };
    }
    const res = await send(url, jar);
    if (res.status >= 300 && res.status < 400) {
      await res.arrayBuffer();
      url = new URL(locationOf(res), url).toString();
      continue;
    }
    const html = await res.text();
    const login = formAction(html, 'login');
    const confirm = formAction(html, 'confirm');
    const form = login ?? confirm;
    if (res.status !== 200 || !form)
      throw new Error(`unexpected page from ${new URL(url).pathname}: status ${res.status}`);
    const body = login
      ? new URLSearchParams({ username: user.username, password: user.password })
      : new URLSearchParams({ decision: 'allow' });
    if (login) passwordPosts += 1;
    const post = await send(new URL(form, origin).toString(), jar, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
      body: body.toString(),
    });
    await post.arrayBuffer();
    if (post.status < 300 || post.status >= 400)
      throw new Error(`form post to ${new URL(form, origin).pathname} answered ${post.status}`);
    url = new URL(locationOf(post), url).toString();
  }
  throw new Error('too many redirects');
}

export interface TokenSet {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
  token_type: string;
  expires_in: number;
  scope?: string;
}

export async function tokenRequest(
  ep: Endpoints,
  client: ClientCreds,
  params: Record<string, string>,
): Promise<TokenSet> {
  const res = await fetch(ep.token, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
      authorization: basicAuth(client),
    },
    body: new URLSearchParams(params).toString(),
  });
  const body = (await res.json()) as TokenSet & { error?: string };
  if (res.status !== 200) throw new Error(`token endpoint answered ${res.status} ${body.error ?? ''}`);
  return body;
}

/** A fresh browser signs in through the pages and the client exchanges the code: one new grant. */
export async function loginAndExchange(
  ep: Endpoints,
  client: ClientCreds,
  user: User,
  scope: string,
): Promise<{ tokens: TokenSet; jar: CookieJar }> {
  const jar = new CookieJar();
  const p = pkce();
  const { code } = await browse(authorizationUrl(ep, client, scope, p.challenge), ep, user, jar, client.redirectUri);
  const tokens = await tokenRequest(ep, client, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: client.redirectUri,
    code_verifier: p.verifier,
  });
  return { tokens, jar };
}

/** With a signed-in browser (jar), one more authorization request: a code without a password. */
export async function mintCode(
  ep: Endpoints,
  client: ClientCreds,
  user: User,
  jar: CookieJar,
  scope: string,
): Promise<{ code: string; verifier: string }> {
  const p = pkce();
  const { code, passwordPosts } = await browse(
    authorizationUrl(ep, client, scope, p.challenge),
    ep,
    user,
    jar,
    client.redirectUri,
  );
  if (passwordPosts > 0) throw new Error('minting a code asked for the password again: the session was not kept');
  return { code, verifier: p.verifier };
}

/** The `alg` in a JWT's protected header, or "opaque". */
export function jwtAlg(token: string | undefined): string {
  if (!token) return 'none';
  const [head] = token.split('.');
  if (!token.startsWith('ey') || !head) return 'opaque';
  try {
    return String((JSON.parse(Buffer.from(head, 'base64url').toString()) as { alg?: string }).alg);
  } catch {
    return 'opaque';
  }
}
