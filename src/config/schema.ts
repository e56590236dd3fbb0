/**
 * The one description of every Gatehouse setting: its key in the config file, its environment variable, its
 * type and what it means. `load.ts` validates against it and `npm run config:docs` renders the reference in
 * docs/configuration.md from it, so the validator and the documentation cannot drift apart.
 * Defaults live in config/default.json.
 */
import { LANGUAGES } from './languages.ts';

export type SettingType =
  | { kind: 'string'; nonEmpty?: boolean }
  | { kind: 'url' }
  | { kind: 'int'; min: number; max: number }
  | { kind: 'bool' }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'strings' }
  | { kind: 'json'; shape: string };

export interface Setting {
  /** Dotted path in the config object, e.g. `ttl.accessToken`. */
  readonly key: string;
  /** Environment variable that overrides it, if any. */
  readonly env?: string;
  readonly type: SettingType;
  readonly doc: string;
}

/** pino's levels, for every process that logs (the server and the demo API). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const DAY = 86_400;
const seconds = (max: number) => ({ kind: 'int', min: 1, max }) as const;

export const settings: readonly Setting[] = [
  {
    key: 'port',
    env: 'PORT',
    type: { kind: 'int', min: 0, max: 65_535 },
    doc: 'TCP port to listen on (0 picks a free port).',
  },
  { key: 'host', env: 'HOST', type: { kind: 'string', nonEmpty: true }, doc: 'Interface to bind.' },
  {
    key: 'issuer',
    env: 'ISSUER',
    type: { kind: 'url' },
    doc: 'Issuer identifier; every endpoint URL derives from it, never from request headers. Must be https in production unless it is localhost.',
  },
  {
    key: 'trustProxy',
    env: 'TRUST_PROXY',
    type: { kind: 'bool' },
    doc: 'Take the client IP (login throttling, rate limits, audit) from the last X-Forwarded-For entry, the one your own reverse proxy appends. Leave false unless such a proxy is the only way in. Host and protocol always come from the issuer, never from headers.',
  },
  {
    key: 'hsts.maxAgeSeconds',
    env: 'HSTS_MAX_AGE_SECONDS',
    type: { kind: 'int', min: 31_536_000, max: 63_072_000 },
    doc: 'With an https issuer, every response carries `Strict-Transport-Security: max-age=<this>`. At least one year. Not sent for an http issuer.',
  },
  {
    key: 'hsts.includeSubDomains',
    env: 'HSTS_INCLUDE_SUBDOMAINS',
    type: { kind: 'bool' },
    doc: "Add `includeSubDomains` to Strict-Transport-Security: browsers then also refuse plain http for every subdomain of the issuer's host. Turn on only when all of them serve https.",
  },
  {
    key: 'dataDir',
    env: 'DATA_DIR',
    type: { kind: 'string', nonEmpty: true },
    doc: 'Where development signing keys are kept so tokens survive a restart.',
  },
  {
    key: 'logLevel',
    env: 'LOG_LEVEL',
    type: { kind: 'enum', values: LOG_LEVELS },
    doc: 'pino log level.',
  },
  {
    key: 'shutdownTimeoutSeconds',
    env: 'SHUTDOWN_TIMEOUT_SECONDS',
    type: { kind: 'int', min: 1, max: 300 },
    doc: 'On SIGTERM/SIGINT, how long requests in flight may take to finish before their connections are closed; then Redis is closed and the process exits 0. Keep it below the orchestrator grace period.',
  },
  {
    key: 'metrics.enabled',
    env: 'METRICS_ENABLED',
    type: { kind: 'bool' },
    doc: 'Serve Prometheus metrics at GET /metrics.',
  },
  {
    key: 'metrics.token',
    env: 'METRICS_TOKEN',
    type: { kind: 'string' },
    doc: 'If set, /metrics requires `Authorization: Bearer <token>` (compared in constant time). Production requires it unless `metrics.port` is set.',
  },
  {
    key: 'metrics.port',
    env: 'METRICS_PORT',
    type: { kind: 'int', min: 0, max: 65_535 },
    doc: 'A separate listener that serves only /metrics (the main port then has none). 0: /metrics is on the main port, which production allows only with `metrics.token`.',
  },
  {
    key: 'metrics.host',
    env: 'METRICS_HOST',
    type: { kind: 'string', nonEmpty: true },
    doc: 'Interface the separate metrics listener binds (keep it private).',
  },
  {
    key: 'bodyLimitBytes',
    env: 'BODY_LIMIT_BYTES',
    type: { kind: 'int', min: 1024, max: 1_048_576 },
    doc: 'Largest request body accepted; larger bodies get 413.',
  },
  {
    key: 'cookieKeys',
    env: 'COOKIE_KEYS',
    type: { kind: 'strings' },
    doc: 'Keys that sign cookies, comma-separated in the env var, newest first (older keys still verify). Each at least 32 characters. Required in production.',
  },
  {
    key: 'redis.url',
    env: 'REDIS_URL',
    type: { kind: 'string' },
    doc: 'redis:// or rediss:// URL. Empty: the embedded in-memory store (development only). With sentinel mode, it carries the password and database.',
  },
  {
    key: 'redis.mode',
    env: 'REDIS_MODE',
    type: { kind: 'enum', values: ['single', 'sentinel', 'cluster'] },
    doc: 'Redis topology.',
  },
  {
    key: 'redis.sentinels',
    env: 'REDIS_SENTINELS',
    type: { kind: 'strings' },
    doc: 'Sentinel addresses as host:port, comma-separated (sentinel mode).',
  },
  {
    key: 'redis.sentinelName',
    env: 'REDIS_SENTINEL_NAME',
    type: { kind: 'string', nonEmpty: true },
    doc: 'Name of the master the sentinels watch.',
  },
  {
    key: 'redis.clusterNodes',
    env: 'REDIS_CLUSTER_NODES',
    type: { kind: 'strings' },
    doc: 'Seed nodes as host:port, comma-separated (cluster mode).',
  },
  {
    key: 'redis.keyPrefix',
    env: 'REDIS_KEY_PREFIX',
    type: { kind: 'string', nonEmpty: true },
    doc: 'Prefix of every Gatehouse key.',
  },
  {
    key: 'ttl.accessToken',
    env: 'ACCESS_TOKEN_TTL',
    type: seconds(DAY),
    doc: 'Access token lifetime in seconds (a resource server may set its own).',
  },
  {
    key: 'ttl.clientCredentials',
    env: 'CLIENT_CREDENTIALS_TTL',
    type: seconds(DAY),
    doc: 'client_credentials access token lifetime in seconds.',
  },
  { key: 'ttl.idToken', env: 'ID_TOKEN_TTL', type: seconds(DAY), doc: 'ID token lifetime in seconds.' },
  {
    key: 'ttl.authorizationCode',
    env: 'AUTHORIZATION_CODE_TTL',
    type: seconds(600),
    doc: 'Authorization code lifetime in seconds.',
  },
  {
    key: 'ttl.refreshTokenIdle',
    env: 'REFRESH_TOKEN_IDLE_TTL',
    type: seconds(365 * DAY),
    doc: 'A refresh token expires this many seconds after its last use (each rotation starts a new idle period).',
  },
  {
    key: 'ttl.refreshTokenAbsolute',
    env: 'REFRESH_TOKEN_ABSOLUTE_TTL',
    type: seconds(365 * DAY),
    doc: 'No refresh token of a login lives longer than this many seconds after the login. The grant lives as long.',
  },
  {
    key: 'ttl.session',
    env: 'SESSION_TTL',
    type: seconds(365 * DAY),
    doc: 'Browser session lifetime at Gatehouse in seconds.',
  },
  {
    key: 'ttl.interaction',
    env: 'INTERACTION_TTL',
    type: seconds(DAY),
    doc: 'How long a login/consent page stays valid, in seconds.',
  },
  {
    key: 'ttl.unauthenticated',
    env: 'UNAUTHENTICATED_TTL',
    type: seconds(DAY),
    doc: 'Longest life, in seconds, of what the provider stores for someone not signed in: a session without an account (e.g. from GET /session/end) and a sign-in page not yet completed.',
  },
  {
    key: 'refreshTokens.reuseIntervalSeconds',
    env: 'REFRESH_REUSE_INTERVAL',
    type: { kind: 'int', min: 0, max: 300 },
    doc: 'Grace period in which the refresh token just rotated may be presented again and gets the current one back (0 = strict). Outside it, any used refresh token of the family revokes it.',
  },
  {
    key: 'loginThrottle.windowSeconds',
    env: 'LOGIN_WINDOW_SECONDS',
    type: seconds(DAY),
    doc: 'Window in which failed sign-ins are counted.',
  },
  {
    key: 'loginThrottle.maxFailures',
    env: 'LOGIN_MAX_FAILURES',
    type: { kind: 'int', min: 1, max: 1000 },
    doc: 'Failures of one username before it is locked.',
  },
  {
    key: 'loginThrottle.ipMaxFailures',
    env: 'LOGIN_IP_MAX_FAILURES',
    type: { kind: 'int', min: 1, max: 100_000 },
    doc: 'Failures from one IP before it is locked.',
  },
  {
    key: 'loginThrottle.lockBaseSeconds',
    env: 'LOGIN_LOCK_BASE_SECONDS',
    type: seconds(DAY),
    doc: 'First lock duration; doubles with each further failure.',
  },
  { key: 'loginThrottle.lockCapSeconds', env: 'LOGIN_LOCK_CAP_SECONDS', type: seconds(DAY), doc: 'Longest lock.' },
  {
    key: 'rateLimit.windowSeconds',
    env: 'RATE_LIMIT_WINDOW_SECONDS',
    type: seconds(3600),
    doc: 'Window of every rate limit (token endpoints, browser endpoints, PAR).',
  },
  {
    key: 'rateLimit.perIp',
    env: 'RATE_LIMIT_PER_IP',
    type: { kind: 'int', min: 0, max: 10_000_000 },
    doc: 'Requests to the token, introspection and revocation endpoints one client IP (IPv6: one /64) may make per window (0 = no limit); then 429 with Retry-After. See docs/security.md for how the default was chosen.',
  },
  {
    key: 'rateLimit.perClient',
    env: 'RATE_LIMIT_PER_CLIENT',
    type: { kind: 'int', min: 0, max: 10_000_000 },
    doc: 'Requests to the same endpoints one client may make per window (0 = no limit); a public client (no credentials) is counted per client and IP. Only requests whose client authenticated count.',
  },
  {
    key: 'rateLimit.browserPerIp',
    env: 'RATE_LIMIT_BROWSER_PER_IP',
    type: { kind: 'int', min: 0, max: 10_000_000 },
    doc: 'Requests to the browser endpoints that store records or check passwords (/auth, /session/end, the sign-in and consent POSTs) one client IP (IPv6: one /64) may make per window (0 = no limit); then 429 with Retry-After.',
  },
  {
    key: 'rateLimit.parPerIp',
    env: 'RATE_LIMIT_PAR_PER_IP',
    type: { kind: 'int', min: 0, max: 10_000_000 },
    doc: 'Pushed authorization requests (POST /request) one client IP may make per window (0 = no limit).',
  },
  {
    key: 'clientRegistration.mode',
    env: 'CLIENT_REGISTRATION',
    type: { kind: 'enum', values: ['off', 'open', 'token'] },
    doc: 'Dynamic client registration (RFC 7591/7592) at `/reg`: `off`; `open` (anyone may register a client, within the policy of docs/protocols.md); `token` (an initial access token from `gatehouse clients token create` is required).',
  },
  {
    key: 'clientRegistration.perIp',
    env: 'CLIENT_REGISTRATION_PER_IP',
    type: { kind: 'int', min: 0, max: 10_000_000 },
    doc: 'Registrations one client IP may make per rate-limit window (0 = no limit).',
  },
  {
    key: 'clientRegistration.idleDays',
    env: 'DYNAMIC_CLIENT_IDLE_DAYS',
    type: { kind: 'int', min: 0, max: 3650 },
    doc: 'Remove a dynamically registered client that has not been issued a token for this many days (0 = never). Clients of the configuration file and the CLI never expire.',
  },
  {
    key: 'backchannelLogout.allowPrivateNetworks',
    env: 'BACKCHANNEL_ALLOW_PRIVATE_NETWORKS',
    type: { kind: 'bool' },
    doc: 'Let back-channel logout tokens go to loopback and private addresses (clients on an internal network). Off, such `backchannel_logout_uri`s are refused at registration and every resolved address is checked at delivery (SSRF).',
  },
  {
    key: 'backchannelLogout.timeoutSeconds',
    env: 'BACKCHANNEL_TIMEOUT_SECONDS',
    type: { kind: 'int', min: 1, max: 60 },
    doc: 'How long one back-channel logout delivery may take before it counts as failed and is retried.',
  },
  {
    key: 'backchannelLogout.retryBaseSeconds',
    env: 'BACKCHANNEL_RETRY_BASE_SECONDS',
    type: { kind: 'int', min: 1, max: 3600 },
    doc: 'Wait before the first retry of a failed back-channel logout delivery; each further retry waits 4 times longer (6 attempts at most).',
  },
  {
    key: 'deviceFlow.pollIntervalSeconds',
    env: 'DEVICE_POLL_INTERVAL',
    type: { kind: 'int', min: 1, max: 60 },
    doc: 'Device flow (RFC 8628): seconds a device waits between polls of the token endpoint (`interval`); a sooner poll of the same code is answered `slow_down`.',
  },
  {
    key: 'deviceFlow.codeTtlSeconds',
    env: 'DEVICE_CODE_TTL',
    type: { kind: 'int', min: 1, max: 3600 },
    doc: 'Device flow: how long a device code and its user code stay valid.',
  },
  {
    key: 'passwords.minLength',
    env: 'PASSWORD_MIN_LENGTH',
    type: { kind: 'int', min: 8, max: 128 },
    doc: 'Fewest characters of a password set or changed (NIST SP 800-63B: at least 8). Common passwords are refused at any length.',
  },
  {
    key: 'account.passwordResetEnabled',
    env: 'PASSWORD_RESET_ENABLED',
    type: { kind: 'bool' },
    doc: 'Offer "Forgot password?" on the sign-in page: a single-use reset link by mail (docs/account.md). Production needs `mail.smtpUrl` while this is on.',
  },
  {
    key: 'account.registrationEnabled',
    env: 'REGISTRATION_ENABLED',
    type: { kind: 'bool' },
    doc: 'Let anyone create an account on the sign-in page (username, email, password; the email is verified by mail).',
  },
  {
    key: 'account.resetLinkTtlSeconds',
    env: 'RESET_LINK_TTL_SECONDS',
    type: { kind: 'int', min: 1, max: 86_400 },
    doc: 'How long a password-reset link works (it works once).',
  },
  {
    key: 'mail.smtpUrl',
    env: 'SMTP_URL',
    type: { kind: 'string' },
    doc: 'Mail transport: `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://...:465`. Empty: in development each mail is written to the log as one line with its link; production refuses to start without it while password reset or registration is on.',
  },
  {
    key: 'mail.from',
    env: 'MAIL_FROM',
    type: { kind: 'string', nonEmpty: true },
    doc: 'Sender address of account mails, e.g. `Gatehouse <no-reply@example.com>`.',
  },
  {
    key: 'argon2.memoryCost',
    env: 'ARGON2_MEMORY_KIB',
    type: { kind: 'int', min: 1024, max: 4_194_304 },
    doc: 'argon2id memory in KiB (OWASP: 19456).',
  },
  {
    key: 'argon2.timeCost',
    env: 'ARGON2_TIME_COST',
    type: { kind: 'int', min: 1, max: 20 },
    doc: 'argon2id iterations (OWASP: 2).',
  },
  {
    key: 'argon2.parallelism',
    env: 'ARGON2_PARALLELISM',
    type: { kind: 'int', min: 1, max: 16 },
    doc: 'argon2id lanes (OWASP: 1).',
  },
  {
    key: 'argon2.maxQueuedPerThread',
    env: 'ARGON2_MAX_QUEUED_PER_THREAD',
    type: { kind: 'int', min: 1, max: 10_000 },
    doc: 'Sign-in password checks that may wait per hashing thread (one thread per core); beyond that a sign-in is answered 503 with Retry-After, without hashing.',
  },
  {
    key: 'signing.idTokenAlg',
    env: 'ID_TOKEN_ALG',
    type: { kind: 'enum', values: ['RS256', 'ES256', 'EdDSA'] },
    doc: 'Default ID token algorithm for clients that do not register one. RS256 is what OpenID conformance requires.',
  },
  {
    key: 'signing.accessTokenAlg',
    env: 'ACCESS_TOKEN_ALG',
    type: { kind: 'enum', values: ['RS256', 'ES256', 'EdDSA'] },
    doc: 'JWT access token algorithm. ES256 signs several times faster than RS256.',
  },
  {
    key: 'jwksFile',
    env: 'JWKS_FILE',
    type: { kind: 'string' },
    doc: 'Path of a private JWKS (JSON) with the signing keys. Required in production unless JWKS is set.',
  },
  {
    key: 'jwks',
    env: 'JWKS',
    type: { kind: 'string' },
    doc: 'The private JWKS itself, as JSON text (alternative to JWKS_FILE).',
  },
  {
    key: 'resourceServers',
    type: {
      kind: 'json',
      shape:
        'array of { identifier: URL, scopes: string[], accessTokenTTL?: seconds, accessTokenFormat?: "jwt" | "opaque", default?: boolean }',
    },
    doc: 'Resource servers (RFC 8707) that receive RFC 9068 JWT access tokens. At most one is the default resource.',
  },
  {
    key: 'clients',
    type: { kind: 'json', shape: 'array of client metadata (RFC 7591 / oidc-provider)' },
    doc: "Static clients. `scope` lists every scope the client may obtain, resource-server scopes included (none of those without it); `allowed_resources` narrows the resource servers; `resource_server_for` lets a resource server's client introspect the tokens for its audience; `first_party: true` skips consent; `default_resource` names the resource a client gets when it asks for none. See docs/security.md.",
  },
  {
    key: 'brand.name',
    env: 'BRAND_NAME',
    type: { kind: 'string', nonEmpty: true },
    doc: 'Product name on the sign-in, consent, logout and error pages and in their titles.',
  },
  {
    key: 'brand.logoUrl',
    env: 'BRAND_LOGO_URL',
    type: { kind: 'string' },
    doc: 'Absolute URL of a logo shown above the pages (about 32 px high); its origin is added to the CSP `img-src`. Must be https when the issuer is https. Empty: the built-in icon.',
  },
  {
    key: 'brand.accent',
    env: 'BRAND_ACCENT',
    type: { kind: 'string', nonEmpty: true },
    doc: 'Accent colour of buttons, links and the icon, as `#rrggbb`; it must have a contrast of at least 4.5:1 with white.',
  },
  {
    key: 'pages.defaultLanguage',
    env: 'DEFAULT_LANGUAGE',
    type: { kind: 'enum', values: LANGUAGES },
    doc: "Language of the pages when neither the request's `ui_locales` nor the browser's `Accept-Language` names one Gatehouse speaks (docs/pages.md).",
  },
  {
    key: 'mfa.required',
    env: 'MFA_REQUIRED',
    type: { kind: 'bool' },
    doc: 'Every account must sign in with a second factor (passkey or authenticator app). An account without one sets up an authenticator app at its next sign-in, right after its password (docs/mfa.md).',
  },
  {
    key: 'mfa.rpId',
    env: 'WEBAUTHN_RP_ID',
    type: { kind: 'string' },
    doc: "Passkeys' relying-party id: the issuer's host when empty, or a parent domain of it so passkeys also work on sibling hosts. Changing it makes every registered passkey unusable (docs/mfa.md).",
  },
  {
    key: 'demo.seed',
    env: 'DEMO_SEED',
    type: { kind: 'bool' },
    doc: 'With the in-memory store, create the demo user and demo client at start-up.',
  },
  { key: 'demo.username', type: { kind: 'string', nonEmpty: true }, doc: 'Demo user name.' },
  { key: 'demo.password', env: 'DEMO_PASSWORD', type: { kind: 'string', nonEmpty: true }, doc: 'Demo user password.' },
  { key: 'demo.clientId', type: { kind: 'string', nonEmpty: true }, doc: 'Demo client id (public client, PKCE).' },
  { key: 'demo.redirectUri', env: 'DEMO_REDIRECT_URI', type: { kind: 'url' }, doc: 'Demo client redirect URI.' },
  {
    key: 'demo.postLogoutRedirectUri',
    env: 'DEMO_POST_LOGOUT_REDIRECT_URI',
    type: { kind: 'url' },
    doc: 'Demo client post-logout redirect URI.',
  },
];
