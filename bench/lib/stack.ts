/**
 * Brings up what the bench measures, the way an operator would: a private redis-server; signing keys, a user
 * and two clients created with Gatehouse's own CLI on that Redis; Gatehouse started with `node src/main.ts`
 * (NODE_ENV=production, Redis store); the demo API (`src/demo/api/main.ts`, as `npm run demo:api`) trusting
 * it; and the bare Koa ceiling server. Every process is a child of the bench and is stopped at the end.
 *
 * Rules, each printed with the results:
 * - LOG_LEVEL=warn for Gatehouse and the demo API: request logging is not what is measured.
 * - RATE_LIMIT_PER_IP / RATE_LIMIT_PER_CLIENT / RATE_LIMIT_BROWSER_PER_IP raised to 10,000,000 per window: one load generator on one IP
 *   would otherwise be throttled; the limiter still runs (and its Redis commands are counted).
 * - AUTHORIZATION_CODE_TTL=600: codes minted before the code-exchange run must outlive the minting.
 * - The web client registers `id_token_signed_response_alg: ES256`, as the peer's does (bench/peer/), so both
 *   sides sign the same; clients without one get ID_TOKEN_ALG.
 * - Anything else comes from the environment and config/default.json, as for `npm start` (so e.g.
 *   ID_TOKEN_ALG or ARGON2_MEMORY_KIB set in the shell change what is measured, and the output says what was used).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/types.ts';
import type { ClientCreds, Endpoints, User } from './oauth.ts';
import { discover } from './oauth.ts';
import { type Child, freePort, runNode, startNode, waitForHttp } from './processes.ts';
import { type BenchRedis, startRedis } from './redis.ts';

export const RATE_LIMIT = 10_000_000;
const REDIRECT = 'http://localhost:5000/callback';

export interface Stack {
  redis: BenchRedis;
  gatehouse: Child;
  demoApi: Child;
  bareKoa: Child;
  endpoints: Endpoints;
  /** Confidential web client: code flow, refresh, introspection; first-party (no consent page). */
  web: ClientCreds;
  /** Confidential machine client: client_credentials only. */
  service: ClientCreds;
  user: User;
  apiUrl: string;
  apiAudience: string;
  koaUrl: string;
  keyPrefix: string;
  argon2: { memoryCost: number; timeCost: number; parallelism: number };
  /** What the bench set for Gatehouse, for the report. */
  settings: Record<string, string>;
  stop(): Promise<void>;
}

/** The secrets and names every server of one bench run shares: signing keys, cookie key, the user, the clients. */
export interface Identity {
  /** Private JWKS (JSON text) made with `gatehouse keys generate` (RS256, ES256, EdDSA keys). */
  jwks: string;
  cookieKey: string;
  user: User;
  web: ClientCreds;
  service: ClientCreds;
}

/** One authorization server under test with its own storage: a Gatehouse configuration or the peer. */
export interface Target {
  readonly name: string;
  readonly server: Child;
  /** Its private redis-server (absent on a cluster). */
  readonly redis?: BenchRedis;
  readonly endpoints: Endpoints;
  readonly web: ClientCreds;
  readonly service: ClientCreds;
  readonly user: User;
  /** Prefix of its keys ('' for the peer). */
  readonly keyPrefix: string;
  /** Its keys that belong to no login (rate-limit and login-throttle counters). */
  readonly counterKeys?: RegExp;
  /** What the bench set for it, for the report. */
  readonly settings: Record<string, string>;
  stop(): Promise<void>;
}

const secret = () => randomBytes(32).toString('base64url');

async function cli(args: string[], env: NodeJS.ProcessEnv, stdin = ''): Promise<string> {
  const run = await runNode('src/cli/main.ts', args, env, stdin);
  if (run.code !== 0)
    throw new Error(`gatehouse cli ${args.slice(0, 2).join(' ')} failed (${run.code}): ${run.stderr.trim()}`);
  return run.stdout;
}

export async function makeIdentity(): Promise<Identity> {
  const cookieKey = secret();
  return {
    jwks: await cli(['keys', 'generate'], { ...process.env, NODE_ENV: 'production', COOKIE_KEYS: cookieKey }),
    cookieKey,
    user: { username: 'bench-user', password: `bench ${secret()}` },
    web: { id: 'bench-web', secret: secret(), redirectUri: REDIRECT },
    service: { id: 'bench-service', secret: secret(), redirectUri: REDIRECT },
  };
}

/**
 * The web client as registered on both Gatehouse and the peer: ES256 ID tokens, so both sides sign the same
 * (the access tokens for the API are ES256 JWTs on both by configuration).
 */
export function webClientMetadata(id: Identity): Record<string, unknown> {
  return {
    client_id: id.web.id,
    client_secret: id.web.secret,
    client_name: 'Bench web app',
    redirect_uris: [REDIRECT],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    scope: 'openid profile email offline_access',
    id_token_signed_response_alg: 'ES256',
  };
}

export function serviceClientMetadata(id: Identity): Record<string, unknown> {
  return {
    client_id: id.service.id,
    client_secret: id.service.secret,
    redirect_uris: [],
    response_types: [],
    grant_types: ['client_credentials'],
  };
}

export const USER_CLAIMS = { email: 'bench@example.com', name: 'Bench User' };

export interface GatehouseOptions {
  name: string;
  /** Settings for this instance on top of the shared ones (LOG_LEVEL, METRICS_ENABLED, REDIS_MODE, ...). */
  settings: Record<string, string>;
  /** A private redis-server to use; without it the settings must point Gatehouse at its Redis (a cluster). */
  redis?: BenchRedis;
  /** Create the user and the clients with the CLI (once per Redis). */
  seed: boolean;
  /** Write Gatehouse's stdout (its log lines) to this file, as a deployment pipes it; else stdout is dropped. */
  logFile?: string;
  nodeArgs?: string[];
  /** Start `src/main.ts` of this checkout instead of this one's (BENCH_BASELINE). */
  checkout?: string;
}

/**
 * One Gatehouse as an operator runs it: `node src/main.ts`, NODE_ENV=production, the Redis store, the shared
 * signing keys, and the user and clients made with its own CLI.
 */
export async function startGatehouse(identity: Identity, o: GatehouseOptions): Promise<Target & { config: Config }> {
  const dir = mkdtempSync(join(tmpdir(), `gatehouse-bench-${o.name}-`));
  let child: Child | undefined;
  const stop = async () => {
    await child?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    const settings: Record<string, string> = {
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      ISSUER: issuer,
      ...(o.redis ? { REDIS_URL: o.redis.url } : {}),
      RATE_LIMIT_PER_IP: String(RATE_LIMIT),
      RATE_LIMIT_PER_CLIENT: String(RATE_LIMIT),
      RATE_LIMIT_BROWSER_PER_IP: String(RATE_LIMIT),
      AUTHORIZATION_CODE_TTL: '600',
      // Production refuses an open /metrics: metrics stay on the main port, behind a bearer token.
      METRICS_TOKEN: identity.cookieKey,
      // Production needs a mail transport for password reset; nothing in the bench sends mail.
      SMTP_URL: 'smtp://127.0.0.1:2525',
      ...o.settings,
    };
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...settings,
      DATA_DIR: join(dir, 'data'),
      COOKIE_KEYS: identity.cookieKey,
      JWKS: identity.jwks,
    };
    const config = loadConfig({ env });
    if (o.seed) {
      const webFile = join(dir, 'web.json');
      const serviceFile = join(dir, 'service.json');
      // first_party: Gatehouse gives consent with the sign-in (the peer shows its consent step instead).
      // Gatehouse grants resource scopes only to clients that list them (docs/security.md "Client permissions").
      const web = webClientMetadata(identity);
      writeFileSync(webFile, JSON.stringify({ ...web, scope: `${web.scope} api:read`, first_party: true }));
      writeFileSync(serviceFile, JSON.stringify({ ...serviceClientMetadata(identity), scope: 'api:read' }));
      const { user } = identity;
      await Promise.all([
        cli(
          [
            'users',
            'add',
            user.username,
            '--password-stdin',
            '--email',
            USER_CLAIMS.email,
            '--name',
            USER_CLAIMS.name,
            '--role',
            'user',
          ],
          env,
          `${user.password}\n`,
        ),
        cli(['clients', 'add', '--file', webFile], env),
        cli(['clients', 'add', '--file', serviceFile], env),
      ]);
    }
    let fd: number | undefined;
    if (o.logFile) fd = openSync(o.logFile, 'a');
    try {
      child = startNode(
        o.name,
        o.checkout ? join(o.checkout, 'src/main.ts') : 'src/main.ts',
        env,
        o.nodeArgs ?? [],
        fd,
      );
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    await waitForHttp(child, `${issuer}/readyz`);
    const prefix = config.redis.keyPrefix;
    return {
      name: o.name,
      server: child,
      ...(o.redis ? { redis: o.redis } : {}),
      endpoints: await discover(issuer),
      web: identity.web,
      service: identity.service,
      user: identity.user,
      keyPrefix: prefix,
      counterKeys: new RegExp(`^${prefix.replace(/[.*+?^$()|[\]\\]/g, '\\$&')}(throttle|lock):`),
      settings,
      config,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Scenario functions take a Stack: this one measures `t` (its server, Redis, endpoints) with the rest of `base`. */
export function stackFor(base: Stack, t: Target): Stack {
  if (!t.redis) throw new Error(`${t.name} has no private redis-server to measure`);
  return {
    ...base,
    gatehouse: t.server,
    redis: t.redis,
    endpoints: t.endpoints,
    web: t.web,
    service: t.service,
    user: t.user,
    keyPrefix: t.keyPrefix,
  };
}

export async function startStack(): Promise<Stack> {
  const redis = await startRedis();
  const started: Array<{ stop(): Promise<void> }> = [];
  const stopAll = async () => {
    for (const c of started.reverse()) await c.stop();
    await redis.stop();
  };
  try {
    const identity = await makeIdentity();
    // BENCH_CPU_PROF=1: V8 CPU profile of Gatehouse for the whole bench, written when it stops (open it in
    // Chrome DevTools or speedscope). Profiling slows Gatehouse down: figures from such a run are not comparable.
    const profileDir = process.env.BENCH_CPU_PROF ? mkdtempSync(join(tmpdir(), 'gatehouse-bench-profile-')) : undefined;
    const gh = await startGatehouse(identity, {
      name: 'gatehouse',
      settings: { LOG_LEVEL: 'warn' },
      redis,
      seed: true,
      ...(profileDir ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] } : {}),
    });
    started.push(gh);
    const { config } = gh;
    const issuer = gh.endpoints.issuer;

    const resource = config.resourceServers.find((rs) => rs.default) ?? config.resourceServers[0];
    if (!resource) throw new Error('config has no resource server for the demo API');
    const apiPort = await freePort();
    const demoApi = startNode('demo-api', 'src/demo/api/main.ts', {
      PATH: process.env.PATH,
      ISSUER: issuer,
      API_PORT: String(apiPort),
      API_HOST: '127.0.0.1',
      API_AUDIENCE: resource.identifier,
      API_TOKEN_CHECK: 'jwt',
      LOG_LEVEL: 'warn',
    });
    started.push(demoApi);
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    await waitForHttp(demoApi, `${apiUrl}/api/health`);

    const koaPort = await freePort();
    const bareKoa = startNode('bare-koa', 'bench/ceilings/bare-koa.ts', {
      PATH: process.env.PATH,
      PORT: String(koaPort),
    });
    started.push(bareKoa);
    const koaUrl = `http://127.0.0.1:${koaPort}/`;
    await waitForHttp(bareKoa, koaUrl);

    return {
      redis,
      gatehouse: gh.server,
      demoApi,
      bareKoa,
      endpoints: gh.endpoints,
      web: identity.web,
      service: identity.service,
      user: identity.user,
      apiUrl,
      apiAudience: resource.identifier,
      koaUrl,
      keyPrefix: config.redis.keyPrefix,
      argon2: { ...config.argon2 },
      settings: {
        ...gh.settings,
        ACCESS_TOKEN_ALG: config.signing.accessTokenAlg,
        ID_TOKEN_ALG: `${config.signing.idTokenAlg} (default; the bench web client registers ES256)`,
        ARGON2: `m=${config.argon2.memoryCost} KiB, t=${config.argon2.timeCost}, p=${config.argon2.parallelism}`,
        REFRESH_REUSE_INTERVAL: String(config.refreshTokens.reuseIntervalSeconds),
        UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? '4 (libuv default)',
        ...(profileDir ? { CPU_PROFILE_DIR: profileDir } : {}),
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
