/**
 * `npm run demo:api`: start-up only. Config from the environment → demo API → listen; stops on SIGINT/SIGTERM.
 * A bad setting names its variable and exits 1 before listening.
 */
import { ConfigError, refusalText } from '../../config/errors.ts';
import { type DemoApiConfig, loadDemoApiConfig } from './config.ts';
import { startDemoApi } from './start.ts';

let config: DemoApiConfig;
try {
  config = loadDemoApiConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(refusalText('demo-api', 'invalid configuration', err.problems));
  process.exit(1);
}
const server = await startDemoApi(config);
const stop = () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
