/**
 * Builds and starts the demo API from its validated config; resolves once it listens. Used by `npm run demo:api`
 * (main.ts) and by `npm run demo`.
 */
import { createServer, type Server } from 'node:http';
import pino, { type Logger } from 'pino';
import { REDACT_PATHS } from '../../http/logger.ts';
import type { DemoApiConfig } from './config.ts';
import { createDemoApi } from './app.ts';
import { downstreamRoute } from './downstream.ts';
import { createTokenGuard } from '../../resource-server/middleware.ts';

export async function startDemoApi(
  config: DemoApiConfig,
  log: Logger = pino({ level: config.logLevel, redact: REDACT_PATHS, base: { service: 'demo-api' } }),
): Promise<Server> {
  const guard = createTokenGuard({
    issuer: config.issuer,
    audience: config.audience,
    mode: config.mode,
    clockToleranceSeconds: config.clockToleranceSeconds,
    tokenCacheSize: config.tokenCacheSize,
    tokenCacheMaxAgeMs: config.tokenCacheMaxAgeSeconds * 1000,
    ...(config.introspection ? { introspection: config.introspection } : {}),
  });
  const downstream = config.downstream ? downstreamRoute({ issuer: config.issuer, ...config.downstream }) : undefined;
  const server = createServer(createDemoApi(guard, log, downstream).callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  log.info(
    {
      port: config.port,
      audience: config.audience,
      issuer: config.issuer,
      mode: config.mode,
      tokenCacheSize: config.mode === 'jwt' ? config.tokenCacheSize : 0,
    },
    'demo API listening',
  );
  return server;
}
