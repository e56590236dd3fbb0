/**
 * Brings up what the bench measures, the way an operator would: a private redis-server; signing keys, a user
 * and two clients created with Gatehouse's own CLI on that Redis; Gatehouse started with `node src/main.ts`
 * (NODE_ENV=production, Redis store); the demo API (`src/demo/api/main.ts`, as `npm run demo:api`) trusting
 * it; and the bare Koa ceiling server. Every process is a child of the bench and is stopped at the end.
 *
 * Rules, each printed with the results:
 * - LOG_LEVEL=warn for Gatehouse and the demo API: request logging is not what is measured.
 * - RATE_LIMIT_PER_IP / RATE_LIMIT_PER_CLIENT raised to 10,000,000 per window: one load generator on one IP
 *   would otherwise be throttled; the limiter still runs (and its Redis commands are counted).
 * - AUTHORIZATION_CODE_TTL=600: codes minted before the code-exchange run must outlive the minting.
 * - Anything else comes from the environment and config/default.json, as for `npm start` (so e.g.
 *   ID_TOKEN_ALG or ARGON2_MEMORY_KIB set in the shell change what is measured, and the output says what was used).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
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

const secret = () => randomBytes(32).toString('base64url');

async function cli(args: string[], env: NodeJS.ProcessEnv, stdin = ''): Promise<string> {
  const run = await runNode('src/cli/main.ts', args, env, stdin);
  if (run.code !== 0) throw new Error(`gatehouse cli ${args.slice(0, 2).join(' ')} failed (${run.code}): ${run.stderr.trim()}`);
  return run.stdout;
}

export async function startStack(): Promise<Stack> {
  const redis = await startRedis();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
  const started: Child[] = [];
  const stopAll = async () => {
    for (const c of started.reverse()) await c.stop();
    await redis.stop();
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
      REDIS_URL: redis.url,
      LOG_LEVEL: 'warn',
      RATE_LIMIT_PER_IP: String(RATE_LIMIT),
      RATE_LIMIT_PER_CLIENT: String(RATE_LIMIT),
      AUTHORIZATION_CODE_TTL: '600',
    };
    const base: NodeJS.ProcessEnv = { ...process.env, ...settings, DATA_DIR: join(dir, 'data'), COOKIE_KEYS: secret() };
    // Signing keys as an operator makes them (RS256, ES256, EdDSA), passed like a secret, never written to the repo.
    const env: NodeJS.ProcessEnv = { ...base, JWKS: await cli(['keys', 'generate'], base) };
    const config = loadConfig({ env });

    const user: User = { username: 'bench-user', password: `bench ${secret()}` };
    const web: ClientCreds = { id: 'bench-web', secret: secret(), redirectUri: REDIRECT };
    const service: ClientCreds = { id: 'bench-service', secret: secret(), redirectUri: REDIRECT };
    const webFile = join(dir, 'web.json');
    const serviceFile = join(dir, 'service.json');
    writeFileSync(
      webFile,
      JSON.stringify({
        client_id: web.id,
        client_secret: web.secret,
        client_name: 'Bench web app',
        redirect_uris: [REDIRECT],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        scope: 'openid profile email offline_access api:read',
        first_party: true,
      }),
    );
    writeFileSync(
      serviceFile,
      JSON.stringify({ client_id: service.id, client_secret: service.secret, redirect_uris: [], response_types: [], grant_types: ['client_credentials'], scope: 'api:read' }),
    );
    await Promise.all([
      cli(['users', 'add', user.username, '--password-stdin', '--email', 'bench@example.com', '--name', 'Bench User', '--role', 'user'], env, `${user.password}\n`),
      cli(['clients', 'add', '--file', webFile], env),
      cli(['clients', 'add', '--file', serviceFile], env),
    ]);

    // BENCH_CPU_PROF=1: V8 CPU profile of Gatehouse for the whole bench, written when it stops (open it in
    // Chrome DevTools or speedscope). Profiling slows Gatehouse down: figures from such a run are not comparable.
    const profileDir = process.env.BENCH_CPU_PROF ? mkdtempSync(join(tmpdir(), 'gatehouse-bench-profile-')) : undefined;
    const gatehouse = startNode('gatehouse', 'src/main.ts', env, profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []);
    started.push(gatehouse);
    await waitForHttp(gatehouse, `${issuer}/readyz`);

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
    const bareKoa = startNode('bare-koa', 'bench/ceilings/bare-koa.ts', { PATH: process.env.PATH, PORT: String(koaPort) });
    started.push(bareKoa);
    const koaUrl = `http://127.0.0.1:${koaPort}/`;
    await waitForHttp(bareKoa, koaUrl);

    return {
      redis,
      gatehouse,
      demoApi,
      bareKoa,
      endpoints: await discover(issuer),
      web,
      service,
      user,
      apiUrl,
      apiAudience: resource.identifier,
      koaUrl,
      keyPrefix: config.redis.keyPrefix,
      argon2: { ...config.argon2 },
      settings: {
        ...settings,
        ACCESS_TOKEN_ALG: config.signing.accessTokenAlg,
        ID_TOKEN_ALG: config.signing.idTokenAlg,
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
