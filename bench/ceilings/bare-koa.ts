/**
 * Ceiling for the HTTP scenarios: the barest Koa app that answers JSON, in its own process. Whatever Gatehouse
 * does per request costs on top of this, on the same machine with the same load generator settings, so each
 * scenario's req/s divided by this one's is comparable across machines.
 *
 * Env: PORT (required). Prints nothing; answers `{"ok":true}` on every path.
 */
import { createServer } from 'node:http';
import Koa from 'koa';

const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0) {
  process.stderr.write('bare-koa: PORT must be a port number\n');
  process.exit(2);
}
const app = new Koa();
app.use((ctx) => {
  ctx.body = { ok: true };
});
const server = createServer(app.callback());
server.keepAliveTimeout = 5_000;
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
