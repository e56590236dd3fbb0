/**
 * Graceful shutdown of the real entry point (`node src/main.ts`, a child process on a real Redis): requests
 * whose bodies are still arriving when SIGTERM comes all complete with 200, new connections are refused at once,
 * the process logs `stopped` only after closing Redis, exits 0, and Redis sees none of its connections left.
 * And the stop is bounded: a request that never completes is cut off after SHUTDOWN_TIMEOUT_SECONDS.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { Redis } from 'ioredis';
import { startNode } from '../helpers/child.ts';
import { freePort, waitFor } from '../../bench/lib/processes.ts';
import { startRedis } from '../helpers/redis.ts';

const CLIENT = { id: 'svc', secret: 'svc-secret-that-is-long-enough-0123456789abcdefghij' };

interface Main {
  port: number;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
  kill: (signal: NodeJS.Signals) => void;
}

/** `node src/main.ts` as a child process on `redisUrl`, with a confidential client for client_credentials. */
async function startMain(t: ExecutionContext, redisUrl: string, env: NodeJS.ProcessEnv = {}): Promise<Main> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-stop-'));
  const configFile = join(dir, 'config.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      clients: [
        {
          client_id: CLIENT.id,
          client_secret: CLIENT.secret,
          grant_types: ['client_credentials'],
          redirect_uris: [],
          response_types: [],
        },
      ],
    }),
  );
  const child = startNode('src/main.ts', [], {
    PORT: String(port),
    HOST: '127.0.0.1',
    ISSUER: `http://127.0.0.1:${port}`,
    REDIS_URL: redisUrl,
    CONFIG_FILE: configFile,
    DATA_DIR: dir,
    ...env,
  });
  t.teardown(() => child.kill('SIGKILL'));
  await waitFor(() => child.out().includes('gatehouse listening'), 'start-up');
  return { port, out: child.out, err: child.err, exited: child.exited, kill: (signal) => child.kill(signal) };
}

/** A token request whose headers and first bytes of body are sent now; `finish` sends the rest. */
function partialTokenRequest(port: number, agent: Agent) {
  const body = new URLSearchParams({ grant_type: 'client_credentials' }).toString();
  const req = request({
    host: '127.0.0.1',
    port,
    path: '/token',
    method: 'POST',
    agent,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'content-length': Buffer.byteLength(body),
      accept: 'application/json',
      authorization: `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`,
    },
  });
  const response = new Promise<{ status: number; json: Record<string, unknown> }>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  req.write(body.slice(0, 10));
  return { response, finish: () => req.end(body.slice(10)) };
}

test('SIGTERM: requests in flight finish with 200, new connections are refused, Redis is closed, exit 0', async (t) => {
  const redis = await startRedis(t);
  const main = await startMain(t, redis.url);
  const probe = new Redis(redis.url, { lazyConnect: true });
  await probe.connect();
  t.teardown(() => probe.disconnect());
  const clients = async () =>
    String(await probe.client('LIST'))
      .trim()
      .split('\n').length;
  t.true((await clients()) > 1, 'Gatehouse is connected to Redis');

  // Five token requests over keep-alive connections: headers and part of the body now, the rest after SIGTERM.
  const agent = new Agent({ keepAlive: true });
  const inFlight = Array.from({ length: 5 }, () => partialTokenRequest(main.port, agent));
  // Let the server receive the headers (setup, not a measurement).
  await new Promise((r) => setTimeout(r, 300));

  main.kill('SIGTERM');
  await waitFor(() => main.out().includes('stopping: finishing requests in flight'), 'the stop to begin');
  await t.throwsAsync(fetch(`http://127.0.0.1:${main.port}/healthz`), undefined, 'no new connection is accepted');

  for (const f of inFlight) f.finish();
  const answers = await Promise.all(inFlight.map((f) => f.response));
  for (const a of answers) {
    t.is(a.status, 200);
    t.is(typeof a.json.access_token, 'string');
  }
  agent.destroy();

  t.is(await main.exited, 0);
  const lines = main
    .out()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  // Order by the time each line was logged: on a busy machine a write to a full stdout pipe can be retried after a
  // later line, so the order of the bytes on the pipe is not the order of the log calls.
  const logged = [...lines].sort((x, y) => Number(x.time) - Number(y.time));
  t.is(
    logged.at(-1)?.msg,
    'stopped',
    `\`stopped\` is logged last (after closing Redis) and flushed before exit: ${JSON.stringify(logged.slice(-3))}`,
  );
  t.true(lines.findIndex((l) => l.msg === 'stopping: finishing requests in flight') < lines.length - 1);
  t.false(lines.some((l) => l.msg === 'stop timeout: closing remaining connections'));
  t.is(
    lines.filter((l) => l.msg === 'request' && l.path === '/token' && l.status === 200).length,
    5,
    'all five were logged as answered',
  );
  t.is(main.err(), '', 'nothing on stderr');
  t.is(await clients(), 1, 'only the probe is still connected to Redis');
});

test('the stop is bounded: a request that never completes is cut off after SHUTDOWN_TIMEOUT_SECONDS, and the exit is still 0', async (t) => {
  const redis = await startRedis(t);
  const main = await startMain(t, redis.url, { SHUTDOWN_TIMEOUT_SECONDS: '1' });
  const agent = new Agent({ keepAlive: true });
  const stuck = partialTokenRequest(main.port, agent);
  await new Promise((r) => setTimeout(r, 300));
  main.kill('SIGTERM');
  await t.throwsAsync(stuck.response, undefined, 'its connection was closed');
  t.is(await main.exited, 0);
  t.regex(main.out(), /"timeoutSeconds":1,"msg":"stop timeout: closing remaining connections"/);
  t.regex(main.out(), /"msg":"stopped"/);
  agent.destroy();
});
