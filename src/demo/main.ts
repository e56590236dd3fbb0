/**
 * `npm run demo`: the whole token lifecycle in one command and one process — Gatehouse on the in-memory store
 * with the demo user and client, the demo API, and the demo web client. Ctrl-C stops all three.
 *
 * Access tokens live ACCESS_TOKEN_TTL seconds (default 30 here, instead of Gatehouse's 900) so a person sees
 * the 401 → silent refresh happen. Logs are at LOG_LEVEL (default warn here, to keep the terminal readable).
 * API_TOKEN_CHECK=introspection makes Gatehouse issue opaque tokens for the API, which then introspects each one
 * (revocation seen at once) with a confidential client created here.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import pino from 'pino';
import { ConfigError, refusalText } from '../config/errors.ts';
import { loadConfig } from '../config/load.ts';
import { createGatehouse } from '../gatehouse.ts';
import { createLogger, REDACT_PATHS } from '../http/logger.ts';
import { demoApiSettings } from '../config/demo-settings.ts';
import { loadDemoApiConfig } from './api/config.ts';
import { startDemoApi } from './api/start.ts';
import { createDemoClient } from './app.ts';
import { loadDemoClientConfig } from './config.ts';

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function main(): Promise<void> {
  const env = {
    ...process.env,
    LOG_LEVEL: process.env.LOG_LEVEL || 'warn',
    ACCESS_TOKEN_TTL: process.env.ACCESS_TOKEN_TTL || '30',
  };
  let parts: ReturnType<typeof configure>;
  try {
    parts = configure(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(refusalText('demo', 'invalid configuration', err.problems));
      process.exit(1);
    }
    throw err;
  }
  const { gatehouseConfig, apiConfig, clientConfig } = parts;

  const gatehouse = await createGatehouse(gatehouseConfig, createLogger(gatehouseConfig.logLevel));
  const gatehouseServer = createServer(gatehouse.handler);
  const clientLog = pino({ level: env.LOG_LEVEL, redact: REDACT_PATHS, base: { service: 'demo-client' } });
  const clientServer = createServer(createDemoClient(clientConfig, clientLog).app.callback());
  let apiServer: Server | undefined;
  try {
    await listen(gatehouseServer, gatehouseConfig.port, gatehouseConfig.host);
    apiServer = await startDemoApi(apiConfig);
    await listen(clientServer, clientConfig.port, clientConfig.host);
  } catch (err) {
    process.stderr.write(`demo: cannot start: ${(err as Error).message}\n`);
    process.exit(1);
  }

  process.stdout.write(
    [
      '',
      'Gatehouse token-lifecycle demo is running:',
      `  Demo web client:  ${clientConfig.origin}/   ← open this`,
      `  Gatehouse:        ${gatehouseConfig.issuer}   (in-memory store)`,
      `  Demo API:         ${clientConfig.apiUrl}   (audience ${apiConfig.audience}, checks tokens by ${apiConfig.mode})`,
      `  Sign in as:       ${gatehouseConfig.demo.username} / ${gatehouseConfig.demo.password}`,
      `  Access tokens live ${gatehouseConfig.ttl.accessToken} s: wait for the countdown, call the API again, watch the silent refresh.`,
      '  Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    const servers = [clientServer, apiServer, gatehouseServer].filter((s): s is Server => s !== undefined);
    for (const s of servers) s.closeAllConnections();
    Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
      .then(() => gatehouse.close())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

function configure(env: NodeJS.ProcessEnv) {
  // The demo is always the in-memory store with the demo user and client, whatever REDIS_URL says.
  const overrides: Record<string, unknown> = { 'redis.url': '', 'redis.mode': 'single', 'demo.seed': true };
  const apiEnv: NodeJS.ProcessEnv = { ...env };
  if (env.API_TOKEN_CHECK === 'introspection') {
    // Introspection needs opaque tokens for the API and a confidential client for it to introspect with, named
    // as the API's resource-server client so that it may introspect the tokens for the API's audience.
    const audience = env.API_AUDIENCE || demoApiSettings.settings.audience.default;
    const secret = randomBytes(32).toString('base64url');
    overrides.resourceServers = [
      { identifier: audience, scopes: ['api:read', 'api:write'], default: true, accessTokenFormat: 'opaque' },
    ];
    const configured = loadConfig({ env, overrides }).clients;
    overrides.clients = [
      ...configured,
      {
        client_id: 'demo-api',
        client_secret: secret,
        grant_types: [],
        response_types: [],
        redirect_uris: [],
        resource_server_for: [audience],
      },
    ];
    Object.assign(apiEnv, { API_CLIENT_ID: 'demo-api', API_CLIENT_SECRET: secret });
  }
  const gatehouseConfig = loadConfig({ env, overrides });
  const apiConfig = loadDemoApiConfig({ ...apiEnv, ISSUER: gatehouseConfig.issuer });
  const clientConfig = loadDemoClientConfig({
    ...env,
    ISSUER: gatehouseConfig.issuer,
    DEMO_CLIENT_ID: gatehouseConfig.demo.clientId,
    DEMO_REDIRECT_URI: gatehouseConfig.demo.redirectUri,
    DEMO_POST_LOGOUT_REDIRECT_URI: gatehouseConfig.demo.postLogoutRedirectUri,
    API_URL: env.API_URL || `http://localhost:${apiConfig.port}`,
    API_AUDIENCE: apiConfig.audience,
    DEMO_PORT: env.DEMO_PORT || new URL(gatehouseConfig.demo.redirectUri).port || '80',
  });
  return { gatehouseConfig, apiConfig, clientConfig };
}

await main();
