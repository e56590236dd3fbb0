/**
 * Start-up only: load config → build Gatehouse → listen → stop gracefully on SIGTERM/SIGINT.
 * Problems that stop the start (configuration, signing keys, cookie keys, storage, a port in use) print one line
 * each, all of them at once, without a stack trace, and exit 1 before anything listens.
 *
 * Graceful stop: readiness turns 503, the listening socket closes (new connections are refused), idle
 * keep-alive connections close, requests in flight finish — for at most `shutdownTimeoutSeconds`, after which
 * their connections are closed — then storage (Redis) is closed and the process exits 0.
 */
import { createServer } from 'node:http';
import { ConfigError, refusalText } from './config/errors.ts';
import { loadConfig } from './config/load.ts';
import { createGatehouse } from './gatehouse.ts';
import { createLogger } from './http/logger.ts';
import { printDemoHelp } from './demo/startup-banner.ts';

function refuse(what: string, problems: readonly string[]): never {
  process.stderr.write(refusalText('gatehouse', what, problems));
  process.exit(1);
}

/** The configuration, logger and Gatehouse; a ConfigError on the way is the one refusal path. */
async function build() {
  // A problem found while loading is the configuration's; one found later (keys, storage) stops the start.
  let what = 'invalid configuration';
  try {
    const config = loadConfig();
    what = 'cannot start';
    const log = createLogger(config.logLevel);
    return { config, log, gatehouse: await createGatehouse(config, log) };
  } catch (err) {
    if (err instanceof ConfigError) refuse(what, err.problems);
    throw err;
  }
}

async function main(): Promise<void> {
  const { config, log, gatehouse } = await build();
  const server = createServer(gatehouse.handler);
  server.once('error', async (err: NodeJS.ErrnoException) => {
    const where = `${config.host}:${config.port}`;
    const problem =
      err.code === 'EADDRINUSE'
        ? `port ${config.port} is already in use (${where}): stop what listens there or set PORT to another port`
        : err.code === 'EACCES'
          ? `not allowed to listen on ${where}: use a port above 1023 or set PORT`
          : `cannot listen on ${where} (${err.code ?? err.message})`;
    await gatehouse.close();
    refuse('cannot start', [problem]);
  });
  server.headersTimeout = 20_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  // Metrics on their own listener (only /metrics), announced before the main port so "listening" means all is up.
  const metricsServer =
    config.metrics.enabled && config.metrics.port !== 0 ? createServer(gatehouse.metricsHandler) : undefined;
  if (metricsServer) {
    try {
      await new Promise<void>((resolve, reject) => {
        metricsServer.once('error', reject);
        metricsServer.listen(config.metrics.port, config.metrics.host, resolve);
      });
    } catch (err) {
      process.stderr.write(
        `gatehouse: cannot listen for metrics on ${config.metrics.host}:${config.metrics.port} (${(err as NodeJS.ErrnoException).code ?? 'error'})\n`,
      );
      await gatehouse.close();
      process.exit(1);
    }
    log.info({ port: config.metrics.port, host: config.metrics.host }, 'metrics listening');
  }
  server.listen(config.port, config.host, () => {
    log.info({ issuer: config.issuer, port: config.port, store: gatehouse.store.kind }, 'gatehouse listening');
    if (gatehouse.store.kind === 'memory' && config.demo.seed) printDemoHelp(config);
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: finishing requests in flight');
    gatehouse.stopping();
    const force = setTimeout(() => {
      log.warn({ timeoutSeconds: config.shutdownTimeoutSeconds }, 'stop timeout: closing remaining connections');
      server.closeAllConnections();
    }, config.shutdownTimeoutSeconds * 1000);
    force.unref();
    metricsServer?.close();
    metricsServer?.closeAllConnections();
    server.close(async () => {
      await gatehouse.close();
      log.info('stopped');
      // pino writes stdout asynchronously: wait for the last lines, or they may land out of order or be lost.
      log.flush(() => process.exit(0));
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

await main();
