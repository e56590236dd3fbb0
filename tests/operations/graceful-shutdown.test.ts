/**
 * Graceful shutdown of the real entry point (`node src/main.ts`, a child process on a real Redis): requests
 * whose bodies are still arriving when SIGTERM comes all complete with 200, new connections are refused at once,
 * the process logs `stopped` only after closing Redis, exits 0, and Redis sees none of its connections left.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { Redis } from 'ioredis';
import { freePort, startRedis } from '../helpers/redis.ts';

const CLIENT = { id: 'svc', secret: 'svc-secret-that-is-long-enough-0123456789abcdefghij' };

async function waitFor(check: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('SIGTERM: requests in flight finish with 200, new connections are refused, Redis is closed, exit 0', async (t) => {
  const redis = await startRedis(t);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-stop-'));
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify({ clients: [{ client_id: CLIENT.id, client_secret: CLIENT.secret, grant_types: ['client_credentials'], redirect_uris: [], response_types: [] }] }));
  const child = spawn(process.execPath, ['src/main.ts'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port), HOST: '127.0.0.1', ISSUER: `http://127.0.0.1:${port}`, REDIS_URL: redis.url, CONFIG_FILE: configFile, DATA_DIR: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    err += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await waitFor(() => out.includes('gatehouse listening'), 'start-up');

  const probe = new Redis(redis.url, { lazyConnect: true });
  await probe.connect();
  t.teardown(() => probe.disconnect());
  const clients = async () => String(await probe.client('LIST')).trim().split('\n').length;
  t.true((await clients()) > 1, 'Gatehouse is connected to Redis');

  // Five token requests over keep-alive connections: headers and half the body now, the rest after SIGTERM.
  const body = new URLSearchParams({ grant_type: 'client_credentials' }).toString();
  const agent = new Agent({ keepAlive: true });
  const inFlight = Array.from({ length: 5 }, () => {
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
    return { req, response };
  });
  // Let the server receive the headers (setup, not a measurement).
  await new Promise((r) => setTimeout(r, 300));

  child.kill('SIGTERM');
  await waitFor(() => out.includes('stopping: finishing requests in flight'), 'the stop to begin');
  await t.throwsAsync(fetch(`http://127.0.0.1:${port}/healthz`), undefined, 'no new connection is accepted');

  for (const { req } of inFlight) req.end(body.slice(10));
  const answers = await Promise.all(inFlight.map((f) => f.response));
  for (const a of answers) {
    t.is(a.status, 200);
    t.is(typeof a.json.access_token, 'string');
  }
  agent.destroy();

  t.is(await exited, 0);
  const lines = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  const stopped = lines.findIndex((l) => l.msg === 'stopped');
  t.true(stopped >= 0, 'logged `stopped` (after closing Redis)');
  t.is(lines.filter((l) => l.msg === 'request' && l.path === '/token' && l.status === 200).length, 5, 'all five were logged as answered');
  t.is(err, '', 'nothing on stderr');
  t.is(await clients(), 1, 'only the probe is still connected to Redis');
});
