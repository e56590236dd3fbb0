/**
 * Starts a real Gatehouse on a real HTTP server on port 0 (the issuer is the bound address) and registers its
 * teardown with ava. Config overrides use dotted keys, e.g. `{ 'ttl.accessToken': 30 }`.
 */
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config/load.ts';
import { createGatehouse, type Gatehouse } from '../../src/gatehouse.ts';
import { createLogger } from '../../src/http/logger.ts';

export interface TestGatehouse {
  gatehouse: Gatehouse;
  server: Server;
  issuer: string;
  /** Every log line the instance wrote, parsed. */
  logs: Array<Record<string, unknown>>;
}

/** Fast argon2 parameters for tests that do not measure hashing. */
export const FAST_ARGON2 = { 'argon2.memoryCost': 1024, 'argon2.timeCost': 1 };

export async function startGatehouse(
  t: ExecutionContext | undefined,
  overrides: Record<string, unknown> = {},
  env: NodeJS.ProcessEnv = {},
  /** `localhost` for WebAuthn, which refuses an IP address as the relying party's id. */
  issuerHost = '127.0.0.1',
): Promise<TestGatehouse> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const issuer = `http://${issuerHost}:${port}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-test-'));
  const config = loadConfig({
    env: { ...env },
    overrides: { ...FAST_ARGON2, issuer, port, dataDir, logLevel: 'info', ...overrides },
  });
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line) logs.push(JSON.parse(line));
      cb();
    },
  });
  let gatehouse: Gatehouse;
  try {
    gatehouse = await createGatehouse(config, createLogger(config.logLevel, sink));
  } catch (err) {
    // Refused at start-up (what some tests assert): the listening socket must not keep the test process alive.
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw err;
  }
  server.on('request', gatehouse.handler);
  const stop = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await gatehouse.close();
  };
  t?.teardown(stop);
  return { gatehouse, server, issuer, logs };
}
