/**
 * The `gatehouse` command line. Works on the same store as the server (REDIS_URL); with the in-memory store it
 * refuses, because a separate process cannot reach a running server's memory. Returns the exit code.
 */
import pino from 'pino';
import { PasswordPolicy } from '../accounts/password-policy.ts';
import { createAudit } from '../audit/audit.ts';
import { withEmailIndex } from '../account/email-index.ts';
import { createMailer } from '../account/mail.ts';
import { sendVerification } from '../account/verification.ts';
import { createLogger } from '../http/logger.ts';
import { createPasswordHasher } from '../accounts/passwords.ts';
import { AccountService } from '../accounts/service.ts';
import { ConfigError } from '../config/errors.ts';
import { loadConfig } from '../config/load.ts';
import type { Config } from '../config/types.ts';
import { Views } from '../web/views.ts';
import { createProvider } from '../provider/create-provider.ts';
import { generateJwks } from '../provider/keys.ts';
import { createStore, usesRedis } from '../storage/create-store.ts';
import { StorageUnavailable, type Store } from '../storage/types.ts';
import { CLIENTS_USAGE, clients } from './commands/clients.ts';
import { KEYS_USAGE, keys } from './commands/keys.ts';
import { USER_SESSIONS_USAGE, userSessions } from './commands/user-sessions.ts';
import { USERS_USAGE, users } from './commands/users.ts';
import { CliError, type Io, parseArgs } from './io.ts';

const USAGE = `usage: gatehouse <command>

${USERS_USAGE}
${USER_SESSIONS_USAGE}
${CLIENTS_USAGE}
${KEYS_USAGE}

Configuration comes from the same place as the server's: config/default.json, CONFIG_FILE, environment (REDIS_URL, ...).
Every command answers --help.`;

const GROUPS: Record<string, string> = {
  users: `${USERS_USAGE}\n${USER_SESSIONS_USAGE}`,
  clients: CLIENTS_USAGE,
  keys: KEYS_USAGE,
};

/**
 * `--help` (or `-h`) anywhere: the usage lines of the command named before it (`users add --help` shows
 * `users add`, `users --help` every `users` command), or everything when the command is unknown.
 */
function help(argv: readonly string[]): string {
  const words = argv.filter((a) => !a.startsWith('-'));
  if (words[0] === 'help') words.shift();
  const group = words[0] === undefined ? undefined : GROUPS[words[0]];
  if (!group) return USAGE;
  const lines = group.split('\n');
  for (let n = words.length; n > 1; n--) {
    const prefix = words.slice(0, n).join(' ');
    const matching = lines.filter((line) => line === prefix || line.startsWith(`${prefix} `));
    if (matching.length > 0) return `usage:\n${matching.join('\n')}`;
  }
  return `usage:\n${group}`;
}

async function openStore(config: Config): Promise<Store> {
  if (!usesRedis(config)) {
    throw new CliError(
      "no REDIS_URL configured: the CLI cannot reach a running server's in-memory store. Set REDIS_URL (and REDIS_MODE for Sentinel/Cluster) to the server's Redis.",
    );
  }
  // Account writes keep the email index in step, as the server's do.
  return withEmailIndex(await createStore(config));
}

export async function runCli(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  io: Io,
  errOut: (line: string) => void,
): Promise<number> {
  try {
    const [command, ...rest] = argv;
    if (!command) {
      io.out(USAGE);
      return 2;
    }
    if (command === 'help' || argv.includes('--help') || argv.includes('-h')) {
      io.out(help(argv));
      return 0;
    }
    const args = parseArgs(rest, ['password-stdin', 'force', 'no-roles', 'email-verified', 'send-verification']);
    if (command === 'keys') {
      await keys(args, io, () => loadConfig({ env }));
      return 0;
    }
    if (command !== 'users' && command !== 'clients') throw new CliError(`unknown command ${command}\n${USAGE}`, 2);
    const config = loadConfig({ env });
    if (command === 'users' && (args.positionals[0] === 'sessions' || args.positionals[0] === 'signout')) {
      let store: Store | undefined;
      try {
        await userSessions(
          args,
          async () => {
            const opened = await openStore(config);
            store = opened;
            const accounts = new AccountService(
              opened.accounts,
              await createPasswordHasher(config.argon2),
              new PasswordPolicy(config.passwords),
            );
            const provider = createProvider({
              config,
              store: opened,
              accounts,
              jwks: await generateJwks(),
              cookieKeys: ['x'.repeat(32)],
              clients: [],
              views: new Views(config),
            });
            const audit = createAudit(createLogger(config.logLevel, pino.destination(2)));
            return {
              accounts,
              sessions: { provider, index: opened.sessionIndex, ttlSeconds: config.ttl.session, audit },
            };
          },
          io,
        );
      } finally {
        await store?.close();
      }
      return 0;
    }
    if (command === 'users') {
      let store: Store | undefined;
      try {
        await users(
          args,
          async () => {
            store = await openStore(config);
            return new AccountService(
              store.accounts,
              await createPasswordHasher(config.argon2),
              new PasswordPolicy(config.passwords),
            );
          },
          io,
          // Audit lines go to stderr, as JSON like the server's: stdout stays the command's answer.
          createAudit(createLogger(config.logLevel, process.stderr)),
          async (account) => {
            // Without SMTP_URL (development) the mail is a log line with its link, on stderr.
            const mailer = createMailer(config, createLogger(config.logLevel, pino.destination(2)));
            try {
              return await sendVerification({ config, store: store as Store, mailer }, account, 'en');
            } finally {
              mailer.close();
            }
          },
        );
      } finally {
        await store?.close();
      }
      return 0;
    }
    const store = await openStore(config);
    try {
      // A provider built like the server's validates client metadata with the server's own rules.
      const accounts = new AccountService(
        store.accounts,
        await createPasswordHasher(config.argon2),
        new PasswordPolicy(config.passwords),
      );
      const provider = createProvider({
        config,
        store,
        accounts,
        jwks: await generateJwks(),
        cookieKeys: ['x'.repeat(32)],
        clients: [],
        views: new Views(config),
      });
      await clients(args, store, provider, io);
    } finally {
      await store.close();
    }
    return 0;
  } catch (err) {
    if (err instanceof CliError) {
      errOut(`gatehouse: ${err.message}`);
      return err.exitCode;
    }
    if (err instanceof StorageUnavailable) {
      // The detail names the Redis host (never its password); the code alone would say nothing.
      errOut(`gatehouse: storage unavailable: ${err.error_detail ?? err.message}`);
      return 1;
    }
    if (err instanceof ConfigError) {
      errOut(`gatehouse: invalid configuration: ${err.message}`);
      return 2;
    }
    errOut(`gatehouse: ${(err as Error).name}: ${(err as Error).message}`);
    return 1;
  }
}
