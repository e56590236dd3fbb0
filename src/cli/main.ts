/** Entry point of `npm run cli -- …` and the `gatehouse` bin. */
import { runCli } from './run.ts';

const code = await runCli(
  process.argv.slice(2),
  process.env,
  { stdin: process.stdin, out: (line) => process.stdout.write(`${line}\n`) },
  (line) => process.stderr.write(`${line}\n`),
);
// Exit once what was printed is flushed, not when the event loop empties: a Redis client that never connected
// may hold timers for seconds after the answer is out.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
