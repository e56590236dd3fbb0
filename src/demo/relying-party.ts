/**
 * The demo client's side of OpenID Connect, on openid-client v6 (a certified relying party library: it checks the
 * ID token, state, nonce and PKCE so the demo does not reimplement them).
 *
 * Rules:
 * - Public client: authorization code + PKCE (S256) + state + nonce; the ID token is required on login.
 * - Tokens are for the demo API's resource identifier (RFC 8707 `resource`, scope `api:read`).
 * - Discovery is lazy and retried on the next use after a failure, so the client may start before Gatehouse.
 * - http issuers are allowed only for localhost (openid-client refuses plain http otherwise, rightly).
 */
import * as oidc from 'openid-client';
import type { DemoClientConfig } from './config.ts';
import type { PendingLogin, Tokens, User } from './sessions.ts';

const SCOPE = 'openid profile email offline_access api:read';

/** The ID token carries who signed in; the claims parameter asks for those claims in it (not only at userinfo). */
const ID_TOKEN_CLAIMS = JSON.stringify({ id_token: { name: null, preferred_username: null, email: null } });

function isLocal(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]';
}

export class RelyingParty {
  readonly #cfg: DemoClientConfig;
  #discovered: Promise<oidc.Configuration> | undefined;

  constructor(cfg: DemoClientConfig) {
    this.#cfg = cfg;
  }

  async #config(): Promise<oidc.Configuration> {
    const insecure = new URL(this.#cfg.issuer).protocol === 'http:' && isLocal(this.#cfg.issuer);
    this.#discovered ??= oidc
      .discovery(new URL(this.#cfg.issuer), this.#cfg.clientId, undefined, oidc.None(), {
        execute: insecure ? [oidc.allowInsecureRequests] : [],
      })
      .catch((err: unknown) => {
        this.#discovered = undefined;
        throw err;
      });
    return this.#discovered;
  }

  async startLogin(): Promise<{ url: string; pending: PendingLogin }> {
    const config = await this.#config();
    const pending: PendingLogin = {
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      verifier: oidc.randomPKCECodeVerifier(),
      startedAt: Date.now(),
    };
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.#cfg.redirectUri,
      scope: SCOPE,
      resource: this.#cfg.apiAudience,
      claims: ID_TOKEN_CLAIMS,
      code_challenge: await oidc.calculatePKCECodeChallenge(pending.verifier),
      code_challenge_method: 'S256',
      state: pending.state,
      nonce: pending.nonce,
    });
    return { url: url.href, pending };
  }

  async finishLogin(callback: URL, pending: PendingLogin): Promise<{ tokens: Tokens; user: User }> {
    const config = await this.#config();
    const response = await oidc.authorizationCodeGrant(
      config,
      callback,
      {
        pkceCodeVerifier: pending.verifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      },
      { resource: this.#cfg.apiAudience },
    );
    const claims = response.claims();
    if (!claims) throw new Error('no ID token in the token response');
    const user: User = { sub: claims.sub };
    if (typeof claims.name === 'string') user.name = claims.name;
    if (typeof claims.preferred_username === 'string') user.username = claims.preferred_username;
    if (typeof claims.email === 'string') user.email = claims.email;
    return { tokens: tokensOf(response), user };
  }

  /** One refresh with the rotating refresh token; the answer carries the next refresh token. */
  async refresh(refreshToken: string, previous: Tokens): Promise<Tokens> {
    const response = await oidc.refreshTokenGrant(await this.#config(), refreshToken, {
      resource: this.#cfg.apiAudience,
    });
    const next = tokensOf(response);
    return {
      ...next,
      refreshToken: next.refreshToken ?? previous.refreshToken,
      idToken: next.idToken ?? previous.idToken,
    };
  }

  /** RFC 7009 revocation of the refresh token (Gatehouse also revokes its grant). */
  async revoke(refreshToken: string): Promise<void> {
    await oidc.tokenRevocation(await this.#config(), refreshToken, { token_type_hint: 'refresh_token' });
  }

  /** RP-initiated logout: where to send the browser so Gatehouse ends its session too. */
  async endSessionUrl(idToken: string | undefined, state: string): Promise<string> {
    const params: Record<string, string> = {
      client_id: this.#cfg.clientId,
      post_logout_redirect_uri: this.#cfg.postLogoutRedirectUri,
      state,
    };
    if (idToken) params.id_token_hint = idToken;
    return oidc.buildEndSessionUrl(await this.#config(), params).href;
  }
}

function tokensOf(response: oidc.TokenEndpointResponse): Tokens {
  return {
    accessToken: response.access_token,
    refreshToken: response.refresh_token,
    idToken: response.id_token,
    expiresAt: Date.now() + (response.expires_in ?? 0) * 1000,
  };
}

/** The OAuth error code of a failed grant (invalid_grant...), or undefined when it was not an OAuth error. */
export function oauthError(err: unknown): string | undefined {
  if (err instanceof oidc.ResponseBodyError || err instanceof oidc.AuthorizationResponseError) return err.error;
  return undefined;
}
