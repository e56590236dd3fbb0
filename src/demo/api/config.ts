/**
 * Configuration of the demo API (`npm run demo:api`), from the environment, validated once. A bad value names
 * its variable and the process exits 1 before listening.
 *
 *   ISSUER                  Gatehouse's issuer URL            default http://localhost:3000
 *   API_PORT / API_HOST     where the API listens             default 4000 / 0.0.0.0
 *   API_AUDIENCE            this API's resource identifier    default http://localhost:4000
 *   API_TOKEN_CHECK         jwt | introspection               default jwt
 *   API_CLIENT_ID / API_CLIENT_SECRET   the API's confidential client at Gatehouse (introspection, token exchange)
 *   API_DOWNSTREAM_URL / API_DOWNSTREAM_AUDIENCE   a second service that GET /api/downstream calls with an
 *                           exchanged token (both or neither; needs the client credentials)
 *   API_CLOCK_TOLERANCE     seconds of leeway on exp/nbf      default 0 (the demo runs on one clock; the
 *                           middleware's own default is 5 s, right for separate machines)
 *   API_TOKEN_CACHE_SIZE    validated JWTs kept (LRU), 0 = off default 10000 (jwt mode only)
 *   API_TOKEN_CACHE_MAX_AGE seconds a validation is reused    default 300 (never past the token's exp)
 *   LOG_LEVEL               pino level                        default info
 */
export interface DemoApiConfig {
  readonly issuer: string;
  readonly port: number;
  readonly host: string;
  readonly audience: string;
  readonly mode: 'jwt' | 'introspection';
  readonly introspection?: { readonly clientId: string; readonly clientSecret: string };
  readonly downstream?: {
    readonly url: string;
    readonly audience: string;
    readonly clientId: string;
    readonly clientSecret: string;
  };
  readonly clockToleranceSeconds: number;
  readonly tokenCacheSize: number;
  readonly tokenCacheMaxAgeSeconds: number;
  readonly logLevel: string;
}

export class DemoApiConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  override name = 'DemoApiConfigError';
}

function url(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const value = env[name] || fallback;
  if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol))
    throw new DemoApiConfigError(`${name}: must be an http(s) URL`);
  return value;
}

export function loadDemoApiConfig(env: NodeJS.ProcessEnv = process.env): DemoApiConfig {
  const portText = env.API_PORT || '4000';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65_535)
    throw new DemoApiConfigError('API_PORT: must be an integer between 0 and 65535');
  const leewayText = env.API_CLOCK_TOLERANCE || '0';
  if (!/^\d{1,3}$/.test(leewayText))
    throw new DemoApiConfigError('API_CLOCK_TOLERANCE: must be an integer number of seconds (0-999)');
  const cacheSizeText = env.API_TOKEN_CACHE_SIZE || '10000';
  if (!/^\d{1,7}$/.test(cacheSizeText))
    throw new DemoApiConfigError(
      'API_TOKEN_CACHE_SIZE: must be an integer number of entries (0-9999999, 0 turns the cache off)',
    );
  const cacheAgeText = env.API_TOKEN_CACHE_MAX_AGE || '300';
  if (!/^\d{1,6}$/.test(cacheAgeText) || Number(cacheAgeText) < 1) {
    throw new DemoApiConfigError('API_TOKEN_CACHE_MAX_AGE: must be an integer number of seconds (1-999999)');
  }
  const mode = env.API_TOKEN_CHECK || 'jwt';
  if (mode !== 'jwt' && mode !== 'introspection')
    throw new DemoApiConfigError('API_TOKEN_CHECK: must be jwt or introspection');
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  const logLevel = env.LOG_LEVEL || 'info';
  if (!levels.includes(logLevel)) throw new DemoApiConfigError(`LOG_LEVEL: must be one of ${levels.join(', ')}`);
  let introspection: DemoApiConfig['introspection'];
  if (mode === 'introspection') {
    if (!env.API_CLIENT_ID || !env.API_CLIENT_SECRET) {
      throw new DemoApiConfigError(
        'API_CLIENT_ID / API_CLIENT_SECRET: introspection mode needs the API client credentials',
      );
    }
    introspection = { clientId: env.API_CLIENT_ID, clientSecret: env.API_CLIENT_SECRET };
  }
  let downstream: DemoApiConfig['downstream'];
  if (env.API_DOWNSTREAM_URL || env.API_DOWNSTREAM_AUDIENCE) {
    if (!env.API_DOWNSTREAM_URL || !env.API_DOWNSTREAM_AUDIENCE)
      throw new DemoApiConfigError('API_DOWNSTREAM_URL / API_DOWNSTREAM_AUDIENCE: set both or neither');
    if (!env.API_CLIENT_ID || !env.API_CLIENT_SECRET) {
      throw new DemoApiConfigError(
        'API_CLIENT_ID / API_CLIENT_SECRET: the downstream call needs the API client credentials',
      );
    }
    downstream = {
      url: url(env, 'API_DOWNSTREAM_URL', ''),
      audience: url(env, 'API_DOWNSTREAM_AUDIENCE', ''),
      clientId: env.API_CLIENT_ID,
      clientSecret: env.API_CLIENT_SECRET,
    };
  }
  return Object.freeze({
    issuer: url(env, 'ISSUER', 'http://localhost:3000'),
    port,
    host: env.API_HOST || '0.0.0.0',
    audience: url(env, 'API_AUDIENCE', 'http://localhost:4000'),
    mode,
    ...(introspection ? { introspection } : {}),
    ...(downstream ? { downstream } : {}),
    clockToleranceSeconds: Number(leewayText),
    tokenCacheSize: Number(cacheSizeText),
    tokenCacheMaxAgeSeconds: Number(cacheAgeText),
    logLevel,
  });
}
