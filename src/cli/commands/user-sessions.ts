/**
 * `users sessions <username>` lists the live sessions of a user (the account center's Devices);
 * `users signout <username>` ends every one of them through `endSessions` (src/account/sessions.ts), the one
 * place every session ending goes through: each session is deleted and the grants used in it are revoked with
 * every token, offline ones included. Its audit lines (`account.sessions_ended`, `grant.revoked`, reason
 * `admin_signout`) go to stderr as JSON; stdout carries the answer.
 */
import type { AccountService } from '../../accounts/service.ts';
import { endSessions, listSessions, type SessionDeps } from '../../account/sessions.ts';
import { AccountError } from '../../accounts/service.ts';
import { CliError, type Io, onlyFlags, type ParsedArgs } from '../io.ts';

export const USER_SESSIONS_USAGE = `users sessions <username>
users signout <username>`;

interface SessionsContext {
  accounts: AccountService;
  sessions: SessionDeps;
}

function username(args: ParsedArgs): string {
  const [, name, extra] = args.positionals;
  if (!name) throw new CliError('missing <username>', 2);
  if (extra) throw new CliError(`unexpected argument ${extra}`, 2);
  return name;
}

const time = (ms: number | undefined) => (ms === undefined ? '-' : new Date(ms).toISOString());

/** `open` connects to the store only once the arguments are known to be valid. */
export async function userSessions(args: ParsedArgs, open: () => Promise<SessionsContext>, io: Io): Promise<void> {
  const action = args.positionals[0];
  onlyFlags(args, []);
  const name = username(args);
  const { accounts, sessions } = await open();
  let accountId: string;
  try {
    accountId = (await accounts.find(name)).id;
  } catch (err) {
    if (err instanceof AccountError) throw new CliError(err.message, err.code === 'NOT_FOUND' ? 1 : 2);
    throw err;
  }
  const live = await listSessions(sessions, accountId);
  if (action === 'sessions') {
    if (live.length === 0) {
      io.out('(no sessions)');
      return;
    }
    io.out(['SESSION', 'BROWSER', 'SYSTEM', 'IP', 'SIGNED_IN', 'LAST_SEEN', 'APPLICATIONS'].join('\t'));
    for (const s of live) {
      io.out(
        [
          s.uid,
          s.browser || '-',
          s.os || '-',
          s.ip,
          time(s.signedInAt === undefined ? undefined : s.signedInAt * 1000),
          time(s.lastSeenAt),
          s.clientIds.join(',') || '-',
        ].join('\t'),
      );
    }
    return;
  }
  const ended = await endSessions(
    sessions,
    accountId,
    live.map((s) => s.uid),
    'admin_signout',
  );
  io.out(`ended ${ended} session${ended === 1 ? '' : 's'} of ${name}`);
}
