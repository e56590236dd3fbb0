/**
 * A real SMTP server in-process on a free loopback port (the `smtp-server` package), for the tests that follow
 * links Gatehouse mails. Each received message is handed out once, in order, with quoted-printable soft line
 * breaks and `=3D` undone so that links can be read from it.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { ExecutionContext } from 'ava';
import { SMTPServer } from 'smtp-server';

export interface TestSmtp {
  /** `smtp://127.0.0.1:<port>`, the value of SMTP_URL. */
  readonly url: string;
  /** The next message received (waits for it). */
  next(): Promise<string>;
  /** How many received messages nobody has taken yet. */
  pending(): number;
}

export async function startSmtp(t: ExecutionContext): Promise<TestSmtp> {
  const waiting: Array<(raw: string) => void> = [];
  const received: string[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks)
          .toString('utf8')
          .replace(/=\r?\n/g, '')
          .replace(/=3D/g, '=');
        const waiter = waiting.shift();
        if (waiter) waiter(raw);
        else received.push(raw);
        callback();
      });
    },
  });
  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return {
    url: `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`,
    next: () =>
      new Promise<string>((resolve) =>
        received.length > 0 ? resolve(received.shift() as string) : waiting.push(resolve),
      ),
    pending: () => received.length,
  };
}
