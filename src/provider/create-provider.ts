/**
 * Builds the oidc-provider instance from the validated config: features, lifetimes, claims, scopes, resource
 * servers, keys, cookies and the page renderers. Everything the library would warn about ("you should change
 * this") is set here deliberately, so it starts without a single runtime warning.
 *
 * Protocol choices (see docs/protocol.md):
 * - response type `code` only; no implicit or hybrid flow, no password grant.
 * - PKCE S256 only; required for public clients, enforced for every client that sends it.
 * - refresh tokens rotate on every use; issued with `offline_access`, or to first-party clients.
 * - access tokens for resource servers are RFC 9068 JWTs; without a resource, an opaque userinfo token.
 */
import Provider, { type ClientMetadata, type Configuration, errors, type KoaContextWithOIDC } from 'oidc-provider';
import { accountClaims } from '../accounts/claims.ts';
import type { AccountService } from '../accounts/service.ts';
import type { Audit } from '../audit/audit.ts';
import type { Config } from '../config/types.ts';
import { LANGUAGES } from '../config/languages.ts';
import type { Views } from '../web/views.ts';
import type { Store } from '../storage/types.ts';
import { ACR_MFA, ACR_PASSWORD } from '../accounts/mfa/acr.ts';
import type { PrivateJwks } from './keys.ts';
import { clientMetadataExtension, introspectionAllowed } from './client-access.ts';
import { deviceAuthorizationAnswers, deviceCodeAdapter, deviceFlowFeature } from './device-flow.ts';
import { interopAnswers } from './interop.ts';
import { validateBackchannelUri } from './backchannel-logout.ts';
import { EXTERNAL_SIGNING, signingKeys } from './signing-keys.ts';
import { registeredClientAdapter, registrationFeatures } from './registration.ts';
import { registerTokenExchange, validateTokenExchangePolicy } from './token-exchange.ts';
import { pageRenderers } from './pages.ts';
import { mfaLoginPolicy, sessionAuthClaims } from './mfa-policy.ts';
import { mintRefreshTokenIds } from './oidc-internals.ts';
import { resourceIndicators } from './resources.ts';
import { ttl } from './ttl.ts';
import { clientMetadata } from './client-metadata.ts';

export const SCOPES = ['openid', 'offline_access', 'profile', 'email', 'phone', 'address'];

// The authentication contexts Gatehouse asserts: a password alone, or a second factor (docs/mfa.md).

export const CLAIMS = {
  openid: ['sub'],
  profile: ['name', 'given_name', 'family_name', 'preferred_username', 'updated_at'],
  email: ['email', 'email_verified'],
  phone: ['phone_number', 'phone_number_verified'],
  address: ['address'],
};

interface ProviderDeps {
  config: Config;
  store: Store;
  accounts: AccountService;
  jwks: PrivateJwks;
  cookieKeys: string[];
  clients: ClientMetadata[];
  views: Views;
  /** Audit trail of what the provider's Gatehouse additions do (token exchange); none for the CLI. */
  audit?: Audit;
}

type Client = NonNullable<KoaContextWithOIDC['oidc']['client']>;

function originsOf(client: Client): Set<string> {
  const uris = [
    ...(client.redirectUris ?? []),
    ...((clientMetadata(client).post_logout_redirect_uris as string[] | undefined) ?? []),
  ];
  return new Set(uris.filter((u) => URL.canParse(u)).map((u) => new URL(u).origin));
}

/**
 * Adds the `token_exchange` policy (./token-exchange.ts) to the client metadata Gatehouse accepts, and the SSRF
 * rules of `backchannel_logout_uri` (./backchannel-logout.ts).
 */
function withTokenExchange(config: Config, base: ReturnType<typeof clientMetadataExtension>) {
  return {
    properties: [...base.properties, 'token_exchange', 'backchannel_logout_uri'],
    validator(ctx: unknown, key: string, value: unknown, metadata: ClientMetadata) {
      try {
        if (key === 'token_exchange')
          return validateTokenExchangePolicy(config, value, metadata as Record<string, unknown>);
        if (key === 'backchannel_logout_uri')
          return validateBackchannelUri(value, config.backchannelLogout.allowPrivateNetworks);
        return base.validator(ctx, key, value, metadata);
      } catch (err) {
        // oidc-provider answers its own error class (400 invalid_client_metadata at registration); anything
        // else would be a 500.
        if (err instanceof errors.OIDCProviderError) throw err;
        throw new errors.InvalidClientMetadata((err as Error).message);
      }
    },
  };
}

export function createProvider({
  config,
  store,
  accounts,
  jwks,
  cookieKeys,
  clients,
  views,
  audit,
}: ProviderDeps): Provider {
  const secure = new URL(config.issuer).protocol === 'https:';
  const configuration: Configuration = {
    adapter: (name: string) => {
      const adapter = store.adapter(name);
      if (name === 'Client') return registeredClientAdapter(adapter);
      return name === 'DeviceCode' ? deviceCodeAdapter(adapter) : adapter;
    },
    clients,
    jwks: signingKeys(jwks),
    cookies: {
      keys: cookieKeys,
      // https: the session cookie (Path=/) takes the __Host- prefix; the interaction cookies are path-scoped
      // (/interaction/<uid>, /auth/<uid>), which __Host- forbids, so they take __Secure-. See docs/security.md.
      names: secure
        ? { session: '__Host-session', interaction: '__Secure-interaction', resume: '__Secure-interaction_resume' }
        : { session: '_session', interaction: '_interaction', resume: '_interaction_resume' },
      long: { httpOnly: true, sameSite: 'lax', secure, signed: true },
      short: { httpOnly: true, sameSite: 'lax', secure, signed: true },
    },
    scopes: SCOPES,
    // acr and amr are named in discovery's claims_supported; oidc-provider fills them from the sign-in (docs/mfa.md).
    claims: { ...CLAIMS, acr: null, amr: null },
    acrValues: [ACR_PASSWORD, ACR_MFA],
    // Advertised as the pages are: one responsive page (also fit for a popup), in every language with a catalogue
    // (src/web/i18n.ts); claims have no language variants. OIDC Core 3.1.2.1 lets an OP ignore
    // display/ui_locales/claims_locales it cannot honour.
    discovery: {
      claim_types_supported: ['normal'],
      display_values_supported: ['page', 'popup'],
      ui_locales_supported: [...LANGUAGES],
      claims_locales_supported: ['en'],
    },
    responseTypes: ['code'],
    pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      // RS256 by default (ID_TOKEN_ALG): OIDC Registration's default for clients that register no alg, which RPs
      // enforce. An RS256 signature is the dearest step of a refresh, several times an ES256 one, so clients that
      // can verify ES256 should register it (docs/protocol.md; the cost is measured in docs/performance.md).
      id_token_signed_response_alg: config.signing.idTokenAlg,
    },
    extraClientMetadata: withTokenExchange(
      config,
      clientMetadataExtension(config, SCOPES),
    ) as Configuration['extraClientMetadata'],
    async findAccount(_ctx, sub) {
      const account = await accounts.findById(sub);
      if (!account || account.disabled) return undefined;
      return { accountId: account.id, claims: async () => accountClaims(account) as { sub: string } };
    },
    async extraTokenClaims(_ctx, token) {
      const accountId = 'accountId' in token ? token.accountId : undefined;
      if (!accountId) return undefined;
      const account = await accounts.findById(accountId);
      return account ? { roles: [...account.roles], ...sessionAuthClaims(_ctx) } : undefined;
    },
    interactions: {
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
      policy: mfaLoginPolicy(config, accounts),
    },
    ttl: ttl(config) as Configuration['ttl'],
    rotateRefreshToken: true,
    issueRefreshToken: async (_ctx, client, code) =>
      client.grantTypeAllowed('refresh_token') &&
      (code.scopes.has('offline_access') || clientMetadata(client).first_party === true),
    // Without offline_access, tokens are bound to the Gatehouse session: logout (or session expiry) ends them.
    // With it, they are independent of the session and survive logout (OIDC Core 11).
    expiresWithSession: async (_ctx, code) => !code.scopes.has('offline_access'),
    clientBasedCORS: (_ctx, origin, client) => originsOf(client).has(origin),
    features: {
      devInteractions: { enabled: false },
      externalSigningSupport: EXTERNAL_SIGNING,
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // Its own tokens, and a resource server's client the access tokens for its audience (client-access.ts).
        allowedPolicy: introspectionAllowed as NonNullable<
          NonNullable<Configuration['features']>['introspection']
        >['allowedPolicy'],
      },
      revocation: {
        enabled: true,
        // RFC 7009 2.1: a client may revoke only tokens issued to it.
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      rpInitiatedLogout: { enabled: true, ...pageRenderers(views).logout },
      // Only for clients that register the device_code grant type (device-flow.ts).
      deviceFlow: deviceFlowFeature(views),
      // Delivered from a queue in the store (backchannel-logout.ts), never while the logout page waits.
      backchannelLogout: { enabled: true },
      // Off unless CLIENT_REGISTRATION says otherwise; the policy is registration.ts.
      ...registrationFeatures(config),
      pushedAuthorizationRequests: { enabled: true },
      dPoP: { enabled: true },
      claimsParameter: { enabled: true },
      // Request objects by value (OIDC Core 6.1), signed: HS256 with the client secret or an asymmetric alg with
      // the client's JWKS. Unsigned (`alg: none`) ones are refused with invalid_request_object, and by reference
      // (`request_uri` other than a PAR urn) with request_uri_not_supported. See docs/conformance.md.
      requestObjects: { enabled: true, requireSignedRequestObject: false },
      userinfo: { enabled: true },
      resourceIndicators: resourceIndicators(config) as NonNullable<Configuration['features']>['resourceIndicators'],
    },
    renderError: pageRenderers(views).renderError,
  };

  const provider = new Provider(config.issuer, configuration);
  mintRefreshTokenIds(provider, store);
  registerTokenExchange(provider, { config, jwks, accounts, audit: audit ?? (() => undefined) });
  provider.use(interopAnswers());
  provider.use(deviceAuthorizationAnswers(config));
  // The host app (src/http/canonical-request.ts) rewrites X-Forwarded-* from the issuer and the client IP it
  // trusts, so the provider may read them whatever `trustProxy` says.
  provider.proxy = true;
  return provider;
}
