import type { ClientMetadata } from 'oidc-provider';
import type { Language } from './languages.ts';
import type { LOG_LEVELS } from './schema.ts';

export type SigningAlg = 'RS256' | 'ES256' | 'EdDSA';

interface ResourceServerConfig {
  readonly identifier: string;
  readonly scopes: readonly string[];
  readonly accessTokenTTL?: number;
  /** `jwt` (RFC 9068, default) or `opaque` (checked by introspection: sees revocation at once). */
  readonly accessTokenFormat?: 'jwt' | 'opaque';
  readonly default?: boolean;
}

export interface RedisConfig {
  /** Empty string: no Redis, the embedded memory store. */
  readonly url: string;
  readonly mode: 'single' | 'sentinel' | 'cluster';
  readonly sentinels: readonly string[];
  readonly sentinelName: string;
  readonly clusterNodes: readonly string[];
  readonly keyPrefix: string;
}

export interface Config {
  readonly production: boolean;
  readonly port: number;
  readonly host: string;
  readonly issuer: string;
  readonly trustProxy: boolean;
  readonly hsts: { readonly maxAgeSeconds: number; readonly includeSubDomains: boolean };
  readonly dataDir: string;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  readonly bodyLimitBytes: number;
  readonly shutdownTimeoutSeconds: number;
  readonly metrics: { readonly enabled: boolean; readonly token: string; readonly port: number; readonly host: string };
  readonly cookieKeys: readonly string[];
  readonly redis: RedisConfig;
  readonly ttl: {
    readonly accessToken: number;
    readonly clientCredentials: number;
    readonly idToken: number;
    readonly authorizationCode: number;
    readonly refreshTokenIdle: number;
    readonly refreshTokenAbsolute: number;
    readonly session: number;
    readonly interaction: number;
    readonly unauthenticated: number;
  };
  readonly refreshTokens: {
    readonly reuseIntervalSeconds: number;
  };
  readonly loginThrottle: {
    readonly windowSeconds: number;
    readonly maxFailures: number;
    readonly ipMaxFailures: number;
    readonly lockBaseSeconds: number;
    readonly lockCapSeconds: number;
  };
  readonly rateLimit: {
    readonly windowSeconds: number;
    readonly perIp: number;
    readonly perClient: number;
    readonly browserPerIp: number;
    readonly parPerIp: number;
  };
  readonly clientRegistration: {
    readonly mode: 'off' | 'open' | 'token';
    readonly perIp: number;
    readonly idleDays: number;
  };
  readonly backchannelLogout: {
    readonly allowPrivateNetworks: boolean;
    readonly timeoutSeconds: number;
    readonly retryBaseSeconds: number;
  };
  readonly deviceFlow: { readonly pollIntervalSeconds: number; readonly codeTtlSeconds: number };
  readonly passwords: { readonly minLength: number };
  readonly account: {
    readonly passwordResetEnabled: boolean;
    readonly registrationEnabled: boolean;
    readonly resetLinkTtlSeconds: number;
  };
  readonly mail: { readonly smtpUrl: string; readonly from: string };
  readonly argon2: {
    readonly memoryCost: number;
    readonly timeCost: number;
    readonly parallelism: number;
    readonly maxQueuedPerThread: number;
  };
  readonly signing: { readonly idTokenAlg: SigningAlg; readonly accessTokenAlg: SigningAlg };
  readonly jwksFile: string;
  readonly jwks: string;
  readonly resourceServers: readonly ResourceServerConfig[];
  readonly clients: readonly ClientMetadata[];
  readonly brand: { readonly name: string; readonly logoUrl: string; readonly accent: string };
  readonly pages: { readonly defaultLanguage: Language };
  readonly mfa: { readonly required: boolean; readonly rpId: string };
  readonly demo: {
    readonly seed: boolean;
    readonly username: string;
    readonly password: string;
    readonly clientId: string;
    readonly redirectUri: string;
    readonly postLogoutRedirectUri: string;
  };
}
