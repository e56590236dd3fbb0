/**
 * The settings of the demo web client and the demo API (src/demo/): environment variables only, declared here
 * so that they are parsed like the server's (env-settings.ts) and rendered into docs/configuration.md with them.
 * The rules that relate several of them live with their loaders (src/demo/config.ts, src/demo/api/config.ts).
 */
import type { EnvSettingGroup } from './env-settings.ts';
import { LOG_LEVELS } from './schema.ts';

const port = { kind: 'int', min: 0, max: 65_535 } as const;
const host = { kind: 'string', nonEmpty: true } as const;

export const demoClientSettings = {
  title: 'Demo web client',
  intro:
    'The backend-for-frontend of `npm run demo` (src/demo/). `npm run demo` sets `ISSUER`, `DEMO_CLIENT_ID` and the two redirect URIs from the Gatehouse settings it starts with (`issuer`, `demo.*`), `API_AUDIENCE` from the demo API and `DEMO_PORT` from the port of `demo.redirectUri`.',
  settings: {
    issuer: { env: 'ISSUER', type: { kind: 'url' }, default: 'http://localhost:3000', doc: "Gatehouse's issuer URL." },
    port: {
      env: 'DEMO_PORT',
      type: port,
      default: '5000',
      doc: 'TCP port the client listens on (0 picks a free port).',
    },
    host: { env: 'DEMO_HOST', type: host, default: '0.0.0.0', doc: 'Interface the client binds.' },
    clientId: {
      env: 'DEMO_CLIENT_ID',
      type: { kind: 'string', nonEmpty: true },
      default: 'demo-client',
      doc: 'Its client id at Gatehouse (a public client, PKCE).',
    },
    redirectUri: {
      env: 'DEMO_REDIRECT_URI',
      type: { kind: 'url' },
      default: 'http://localhost:5000/callback',
      doc: "Its registered redirect URI; the client's own origin is taken from it, and requests that change state must come from that origin.",
    },
    postLogoutRedirectUri: {
      env: 'DEMO_POST_LOGOUT_REDIRECT_URI',
      type: { kind: 'url' },
      default: 'http://localhost:5000/',
      doc: 'Its registered post-logout redirect URI, on the same origin as `DEMO_REDIRECT_URI`.',
    },
    apiUrl: {
      env: 'API_URL',
      type: { kind: 'url' },
      default: 'http://localhost:4000',
      doc: 'Where the demo API listens.',
    },
    apiAudience: {
      env: 'API_AUDIENCE',
      type: { kind: 'url' },
      default: 'http://localhost:4000',
      doc: "The demo API's resource identifier, asked for as the access token's audience.",
    },
  },
} as const satisfies EnvSettingGroup;

export const demoApiSettings = {
  title: 'Demo API',
  intro:
    "The resource server of `npm run demo:api` and `npm run demo` (src/demo/api/), which checks Gatehouse access tokens with src/resource-server/. `npm run demo` gives it Gatehouse's `ISSUER` and makes `LOG_LEVEL` default to `warn`.",
  settings: {
    issuer: { env: 'ISSUER', type: { kind: 'url' }, default: 'http://localhost:3000', doc: "Gatehouse's issuer URL." },
    port: { env: 'API_PORT', type: port, default: '4000', doc: 'TCP port the API listens on (0 picks a free port).' },
    host: { env: 'API_HOST', type: host, default: '0.0.0.0', doc: 'Interface the API binds.' },
    audience: {
      env: 'API_AUDIENCE',
      type: { kind: 'url' },
      default: 'http://localhost:4000',
      doc: "This API's resource identifier: the audience its access tokens must carry.",
    },
    mode: {
      env: 'API_TOKEN_CHECK',
      type: { kind: 'enum', values: ['jwt', 'introspection'] },
      default: 'jwt',
      doc: 'How a token is checked: `jwt` (signature and claims, against the JWKS) or `introspection` (asks Gatehouse for each token, so revocation is seen at once; needs `API_CLIENT_ID` and `API_CLIENT_SECRET`).',
    },
    clientId: {
      env: 'API_CLIENT_ID',
      type: { kind: 'string', nonEmpty: true },
      doc: "The API's confidential client at Gatehouse, for introspection and token exchange.",
    },
    clientSecret: {
      env: 'API_CLIENT_SECRET',
      type: { kind: 'string', nonEmpty: true },
      doc: 'The secret of `API_CLIENT_ID`.',
    },
    downstreamUrl: {
      env: 'API_DOWNSTREAM_URL',
      type: { kind: 'url' },
      doc: 'A second service that GET /api/downstream calls with an exchanged token. Set both downstream variables or neither; needs the client credentials.',
    },
    downstreamAudience: {
      env: 'API_DOWNSTREAM_AUDIENCE',
      type: { kind: 'url' },
      doc: "The second service's resource identifier, the audience of the exchanged token.",
    },
    clockToleranceSeconds: {
      env: 'API_CLOCK_TOLERANCE',
      type: { kind: 'int', min: 0, max: 999 },
      default: '0',
      doc: "Seconds of leeway on `exp` and `nbf`. 0 because the demo runs on one clock; the token guard's own default, 5, is right for separate machines.",
    },
    tokenCacheSize: {
      env: 'API_TOKEN_CACHE_SIZE',
      type: { kind: 'int', min: 0, max: 9_999_999 },
      default: '10000',
      doc: 'Validated JWTs kept (least recently used dropped first); 0 turns the cache off. `jwt` mode only.',
    },
    tokenCacheMaxAgeSeconds: {
      env: 'API_TOKEN_CACHE_MAX_AGE',
      type: { kind: 'int', min: 1, max: 999_999 },
      default: '300',
      doc: "Seconds a cached validation is reused, never past the token's `exp`.",
    },
    logLevel: { env: 'LOG_LEVEL', type: { kind: 'enum', values: LOG_LEVELS }, default: 'info', doc: 'pino log level.' },
  },
} as const satisfies EnvSettingGroup;

/** Every group, in the order the reference shows them. */
export const envSettingGroups: readonly EnvSettingGroup[] = [demoClientSettings, demoApiSettings];
