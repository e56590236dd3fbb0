/**
 * Loads the configuration once: config/default.json, then the file named by CONFIG_FILE, then environment
 * variables. Every value is checked against schema.ts; every problem is reported at once, each naming its key,
 * and the process refuses to start. The result is deep-frozen and passed into factories (no module-level
 * singletons).
 *
 * NODE_ENV must be unset, development, test or production: a mistyped value (`prod`) would otherwise run with the
 * development defaults (demo account, generated keys) where production was meant.
 * Production rules (NODE_ENV=production): Redis required, signing keys supplied (not generated), cookie keys
 * supplied, an https issuer unless the issuer is localhost, and /metrics either behind a token or on its own
 * listener.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ACCENT_PATTERN, contrastRatio, MIN_ACCENT_CONTRAST } from './colour.ts';
import { settings } from './schema.ts';
import type { Config } from './types.ts';
import { ConfigError } from './errors.ts';
import { check, fromEnv } from './values.ts';

const NODE_ENVS = ['development', 'test', 'production'] as const;

type Json = Record<string, unknown>;

const defaultsPath = fileURLToPath(new URL('../../config/default.json', import.meta.url));

function readJson(path: string, what: string): Json {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${what}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    const value: unknown = JSON.parse(text);
    if (!isObject(value)) throw new ConfigError(`${what}: ${path} must hold a JSON object`);
    return value;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${what}: ${path} is not valid JSON (${(err as Error).message})`);
  }
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function merge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isObject(b) && isObject(v) ? merge(b, v) : v;
  }
  return out;
}

function getPath(obj: Json, key: string): unknown {
  let cur: unknown = obj;
  for (const part of key.split('.')) cur = isObject(cur) ? cur[part] : undefined;
  return cur;
}

function setPath(obj: Json, key: string, value: unknown): void {
  const dot = key.indexOf('.');
  if (dot < 0) {
    obj[key] = value;
    return;
  }
  const head = key.slice(0, dot);
  const next = obj[head];
  const child = isObject(next) ? next : {};
  obj[head] = child;
  setPath(child, key.slice(dot + 1), value);
}

function checkResourceServers(config: Config): void {
  let defaults = 0;
  config.resourceServers.forEach((rs, i) => {
    const at = `resourceServers[${i}]`;
    if (!isObject(rs)) throw new ConfigError(`${at}: must be an object`);
    if (typeof rs.identifier !== 'string' || !URL.canParse(rs.identifier))
      throw new ConfigError(`${at}.identifier: must be an absolute URL`);
    if (
      !Array.isArray(rs.scopes) ||
      !rs.scopes.every((s) => typeof s === 'string' && /^[\x21\x23-\x5B\x5D-\x7E]+$/.test(s))
    ) {
      throw new ConfigError(`${at}.scopes: must be a list of scope tokens`);
    }
    if (rs.accessTokenTTL !== undefined && !(Number.isInteger(rs.accessTokenTTL) && rs.accessTokenTTL > 0)) {
      throw new ConfigError(`${at}.accessTokenTTL: must be a positive integer`);
    }
    if (rs.accessTokenFormat !== undefined && rs.accessTokenFormat !== 'jwt' && rs.accessTokenFormat !== 'opaque') {
      throw new ConfigError(`${at}.accessTokenFormat: must be jwt or opaque`);
    }
    if (rs.default) defaults += 1;
  });
  if (defaults > 1) throw new ConfigError('resourceServers: at most one resource server may be the default');
}

function checkClients(config: Config): void {
  const seen = new Set<string>();
  config.clients.forEach((c, i) => {
    if (!isObject(c) || typeof c.client_id !== 'string' || c.client_id.length === 0) {
      throw new ConfigError(`clients[${i}].client_id: must be a non-empty string`);
    }
    if (seen.has(c.client_id)) throw new ConfigError(`clients[${i}].client_id: duplicate ${c.client_id}`);
    seen.add(c.client_id);
  });
}

function checkBrand(config: Config): void {
  const { accent, logoUrl } = config.brand;
  if (!ACCENT_PATTERN.test(accent))
    throw new ConfigError(`brand.accent (BRAND_ACCENT): must be a colour written #rrggbb, e.g. #2f63d8`);
  const contrast = contrastRatio(accent, '#ffffff');
  if (contrast < MIN_ACCENT_CONTRAST) {
    throw new ConfigError(
      `brand.accent (BRAND_ACCENT): ${accent} has a contrast of ${contrast.toFixed(2)}:1 with the white text of buttons; choose a darker colour (at least ${MIN_ACCENT_CONTRAST}:1)`,
    );
  }
  if (!logoUrl) return;
  if (!URL.canParse(logoUrl) || !/^https?:$/.test(new URL(logoUrl).protocol))
    throw new ConfigError('brand.logoUrl (BRAND_LOGO_URL): must be an absolute http(s) URL');
  const logo = new URL(logoUrl);
  if (logo.username || logo.password)
    throw new ConfigError('brand.logoUrl (BRAND_LOGO_URL): must not carry credentials');
  if (logo.protocol === 'http:' && new URL(config.issuer).protocol === 'https:') {
    throw new ConfigError(
      'brand.logoUrl (BRAND_LOGO_URL): must be https when the issuer is https (browsers block mixed content)',
    );
  }
}

function isLocalhost(url: string): boolean {
  const { hostname } = new URL(url);
  return hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]';
}

function checkProduction(config: Config, problems: string[]): void {
  if (!config.production) return;
  if (!config.redis.url && config.redis.mode === 'single') {
    problems.push('redis.url (REDIS_URL): production refuses the in-memory store; configure Redis');
  }
  if (!config.jwksFile && !config.jwks) {
    problems.push(
      'jwksFile (JWKS_FILE): production refuses generated signing keys; supply a JWKS (npm run -s cli -- keys generate --out jwks.json)',
    );
  }
  if (config.cookieKeys.length === 0)
    problems.push('cookieKeys (COOKIE_KEYS): production requires cookie signing keys');
  if (new URL(config.issuer).protocol !== 'https:' && !isLocalhost(config.issuer)) {
    problems.push('issuer (ISSUER): production requires an https issuer (http is allowed for localhost only)');
  }
  if (!config.mail.smtpUrl && (config.account.passwordResetEnabled || config.account.registrationEnabled)) {
    problems.push(
      'mail.smtpUrl (SMTP_URL): production needs a mail transport while password reset (PASSWORD_RESET_ENABLED) or registration (REGISTRATION_ENABLED) is on',
    );
  }
  if (config.mail.smtpUrl && !/^smtps?:\/\//.test(config.mail.smtpUrl))
    problems.push('mail.smtpUrl (SMTP_URL): must be an smtp:// or smtps:// URL');
  // Metrics tell an observer about traffic and failures; on the public port they need a token.
  if (config.metrics.enabled && !config.metrics.token && config.metrics.port === 0) {
    problems.push(
      'metrics.token (METRICS_TOKEN) or metrics.port (METRICS_PORT): production refuses an open /metrics on the main port; set a bearer token, a separate metrics listener (METRICS_PORT, METRICS_HOST), or METRICS_ENABLED=false',
    );
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Values applied after the environment (tests use this instead of mutating process.env). */
  overrides?: Record<string, unknown>;
}

export function loadConfig({ env = process.env, overrides = {} }: LoadOptions = {}): Config {
  const problems: string[] = [];
  const nodeEnv = env.NODE_ENV ?? '';
  if (nodeEnv !== '' && !(NODE_ENVS as readonly string[]).includes(nodeEnv)) {
    problems.push(`NODE_ENV: "${nodeEnv}" is not one of ${NODE_ENVS.join(', ')} (unset means development)`);
  }
  let raw = readJson(defaultsPath, 'config/default.json');
  if (env.CONFIG_FILE) raw = merge(raw, readJson(env.CONFIG_FILE, 'CONFIG_FILE'));

  const known = new Set(settings.map((s) => s.key.split('.')[0]));
  for (const key of Object.keys(raw)) {
    if (!known.has(key)) problems.push(`${key}: unknown setting`);
  }

  for (const setting of settings) {
    const name = setting.env;
    const fromEnvRaw = name ? env[name] : undefined;
    if (!name || fromEnvRaw === undefined || fromEnvRaw === '') continue;
    try {
      setPath(raw, setting.key, fromEnv(setting.type, name, fromEnvRaw));
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(err.message);
    }
  }
  for (const [key, value] of Object.entries(overrides)) setPath(raw, key, value);

  let typed = true;
  for (const setting of settings) {
    const problem = check(setting.type, getPath(raw, setting.key));
    if (problem) {
      problems.push(`${setting.key}${setting.env ? ` (${setting.env})` : ''}: ${problem}`);
      typed = false;
    }
  }
  // The rules below read typed values: with a value of the wrong type only its own problem is reported.
  if (!typed) throw new ConfigError(problems);

  const config = { ...raw, production: nodeEnv === 'production' } as unknown as Config;
  const rules = [
    () => {
      if (config.cookieKeys.some((k) => k.length < 32))
        throw new ConfigError('cookieKeys (COOKIE_KEYS): every key must be at least 32 characters');
    },
    () => {
      if (new URL(config.issuer).search || new URL(config.issuer).hash)
        throw new ConfigError('issuer (ISSUER): must not have a query or fragment');
    },
    () => {
      const host = new URL(config.issuer).hostname;
      const rpId = config.mfa.rpId;
      if (rpId && rpId !== host && !host.endsWith(`.${rpId}`)) {
        throw new ConfigError(`mfa.rpId (WEBAUTHN_RP_ID): must be the issuer's host ${host} or a parent domain of it`);
      }
    },
    () => {
      if (config.ttl.refreshTokenIdle > config.ttl.refreshTokenAbsolute) {
        throw new ConfigError(
          'ttl.refreshTokenIdle (REFRESH_TOKEN_IDLE_TTL): must not exceed ttl.refreshTokenAbsolute',
        );
      }
    },
    () => {
      if (config.redis.mode === 'sentinel' && config.redis.sentinels.length === 0) {
        throw new ConfigError('redis.sentinels (REDIS_SENTINELS): sentinel mode needs at least one sentinel');
      }
    },
    () => {
      if (config.redis.mode === 'cluster' && config.redis.clusterNodes.length === 0) {
        throw new ConfigError('redis.clusterNodes (REDIS_CLUSTER_NODES): cluster mode needs at least one node');
      }
    },
    () => {
      if (config.redis.mode === 'single' && config.redis.url !== '' && !/^rediss?:\/\//.test(config.redis.url)) {
        throw new ConfigError('redis.url (REDIS_URL): must be a redis:// or rediss:// URL');
      }
    },
    () => {
      if (/[{}]/.test(config.redis.keyPrefix))
        throw new ConfigError(
          'redis.keyPrefix (REDIS_KEY_PREFIX): may not contain { or }: they would change the hash tags',
        );
    },
    () => {
      if (config.metrics.port !== 0 && config.metrics.port === config.port) {
        throw new ConfigError(
          'metrics.port (METRICS_PORT): must differ from port (PORT); 0 serves /metrics on the main port',
        );
      }
    },
    () => checkResourceServers(config),
    () => checkClients(config),
    () => checkBrand(config),
    () => checkProduction(config, problems),
  ];
  for (const rule of rules) {
    try {
      rule();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(config);
}
