/**
 * `npm run demo:api`: start-up only. Config from the environment → demo API → listen; stops on SIGINT/SIGTERM.
 * A bad setting names its variable and exits 1 before listening.
 */
import { type DemoApiConfig, DemoApiConfigError, loadDemoApiConfig } from './config.ts';
import { startDemoApi } from './start.ts';

let config: DemoApiConfig;
try {
  config = loadDemoApiConfig();
} catch (err) {
  if (!(err instanceof DemoApiConfigError)) throw err;
  process.stderr.write(`demo-api: invalid configuration: ${err.message}\n`);
  process.exit(1);
}
const server = await startDemoApi(config);
const stop = () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
