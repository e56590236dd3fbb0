/** Entry point of `npm run cli -- …` and the `gatehouse` bin. */
import { runCli } from './run.ts';

process.exitCode = await runCli(
  process.argv.slice(2),
  process.env,
  { stdin: process.stdin, out: (line) => process.stdout.write(`${line}\n`) },
  (line) => process.stderr.write(`${line}\n`),
);
