/**
 * `users add|list|show|update|remove|passwd|disable|enable|mfa` against the configured store.
 * Passwords come from stdin only and pass the password policy; nothing printed holds a password or its hash, nor
 * any second factor's secret (a TOTP key, a recovery code, a passkey's public key).
 */
import { AccountError, type AccountService } from '../../accounts/service.ts';
import type { Audit } from '../../audit/audit.ts';
import type { Account } from '../../storage/types.ts';
import { CliError, type Io, onlyFlags, type ParsedArgs, readPassword, single } from '../io.ts';

export const USERS_USAGE = `users add <username> --password-stdin [--email E [--email-verified | --send-verification]] [--name N] [--role R]...
users list
users show <username>
users update <username> [--email E] [--name N] [--role R]... [--no-roles]   ("" removes email or name)
users remove <username>
users passwd <username> --password-stdin
users disable <username>
users enable <username>
users mfa list <username>
users mfa reset <username>`;

function username(args: ParsedArgs): string {
  const [, name, extra] = args.positionals;
  if (!name) throw new CliError('missing <username>', 2);
  if (extra) throw new CliError(`unexpected argument ${extra}`, 2);
  return name;
}

function checkEmail(email: string | undefined): void {
  if (email !== undefined && email !== '' && !/^[^\s@]+@[^\s@]+$/.test(email))
    throw new CliError('--email is not an email address', 2);
}

function checkRoles(roles: readonly string[]): void {
  for (const role of roles)
    if (!/^[A-Za-z0-9:._-]{1,64}$/.test(role)) throw new CliError(`--role ${role} is not a valid role name`, 2);
}

/** Every stored field but the password hash. */
function describe(a: Account): string {
  const rows: Array<[string, string]> = [
    ['username', a.username],
    ['sub', a.id],
    ['email', a.email === undefined ? '-' : `${a.email} (${a.emailVerified ? 'verified' : 'not verified'})`],
    ['name', a.name ?? '-'],
    ['roles', a.roles.join(',') || '-'],
    ['status', a.disabled ? 'disabled' : 'active'],
    ['created', new Date(a.createdAt).toISOString()],
    ['updated', new Date(a.updatedAt).toISOString()],
  ];
  return rows.map(([k, v]) => `${`${k}:`.padEnd(10)}${v}`).join('\n');
}

/** One line per second factor: kind, then what identifies it to its owner. */
function factorLines(a: Account): string[] {
  const day = (ms: number | undefined) => (ms === undefined ? 'never' : new Date(ms).toISOString());
  const m = a.mfa ?? {};
  return [
    ...(m.totp ? [['totp', 'authenticator app', `added ${day(m.totp.enabledAt)}`].join('\t')] : []),
    ...(m.passkeys ?? []).map((p) =>
      [
        'passkey',
        p.name,
        `added ${day(p.createdAt)}`,
        `last used ${day(p.lastUsedAt)}`,
        p.backedUp ? 'synced' : 'device-bound',
      ].join('\t'),
    ),
    ...((m.recoveryCodes?.length ?? 0) > 0 ? [['recovery_codes', `${m.recoveryCodes?.length} unused`].join('\t')] : []),
  ];
}

async function mfaCommand(args: ParsedArgs, open: () => Promise<AccountService>, io: Io, audit: Audit): Promise<void> {
  onlyFlags(args, []);
  const [, sub, name, extra] = args.positionals;
  if ((sub !== 'list' && sub !== 'reset') || !name || extra)
    throw new CliError(`usage:\nusers mfa list <username>\nusers mfa reset <username>`, 2);
  const service = await open();
  if (sub === 'list') {
    const lines = factorLines(await service.find(name));
    io.out(lines.length > 0 ? lines.join('\n') : 'no second factor');
    return;
  }
  const before = await service.clearSecondFactors(name);
  const m = before.mfa ?? {};
  const factors = [
    ...(m.totp ? ['totp'] : []),
    ...((m.passkeys?.length ?? 0) > 0 ? ['passkey'] : []),
    ...((m.recoveryCodes?.length ?? 0) > 0 ? ['recovery_codes'] : []),
  ];
  for (const factor of factors) audit('mfa.removed', { sub: before.id, factor, reason: 'admin_reset' });
  io.out(factors.length > 0 ? `removed: ${factors.join(', ')}` : 'no second factor');
}

/** `open` connects to the store only once the arguments are known to be valid. */
export async function users(
  args: ParsedArgs,
  open: () => Promise<AccountService>,
  io: Io,
  audit: Audit,
  sendVerification?: (account: Account) => Promise<boolean>,
): Promise<void> {
  const action = args.positionals[0];
  try {
    switch (action) {
      case 'add': {
        onlyFlags(args, ['password-stdin', 'email', 'name', 'role', 'email-verified', 'send-verification']);
        const name = username(args);
        if (!args.flags.has('password-stdin'))
          throw new CliError('users add needs --password-stdin (passwords are never taken as arguments)', 2);
        const email = single(args, 'email');
        checkEmail(email);
        const verified = args.flags.has('email-verified');
        const send = args.flags.has('send-verification');
        if ((verified || send) && !email)
          throw new CliError('--email-verified and --send-verification need --email', 2);
        if (verified && send) throw new CliError('--email-verified and --send-verification contradict each other', 2);
        const roles = args.flags.get('role') ?? [];
        checkRoles(roles);
        const password = await readPassword(io.stdin);
        const fullName = single(args, 'name');
        const account = await (await open()).create({
          username: name,
          password,
          roles: [...new Set(roles)],
          ...(email ? { email, emailVerified: verified } : {}),
          ...(fullName ? { name: fullName } : {}),
        });
        io.out(`created user ${account.username} (sub ${account.id})`);
        if (send && sendVerification)
          io.out(
            (await sendVerification(account))
              ? `verification link sent to ${email}`
              : 'verification link not sent (too many asked for)',
          );
        return;
      }
      case 'list': {
        onlyFlags(args, []);
        const accounts = await (await open()).list();
        if (accounts.length === 0) {
          io.out('(no users)');
          return;
        }
        io.out(['USERNAME', 'SUB', 'EMAIL', 'ROLES', 'STATUS'].join('\t'));
        for (const a of accounts.sort((x, y) => x.username.localeCompare(y.username))) {
          io.out(
            [a.username, a.id, a.email ?? '-', a.roles.join(',') || '-', a.disabled ? 'disabled' : 'active'].join('\t'),
          );
        }
        return;
      }
      case 'show':
        onlyFlags(args, []);
        io.out(describe(await (await open()).find(username(args))));
        return;
      case 'update': {
        onlyFlags(args, ['email', 'name', 'role', 'no-roles']);
        const name = username(args);
        const email = single(args, 'email');
        checkEmail(email);
        const fullName = single(args, 'name');
        const roles = args.flags.get('role');
        if (roles) checkRoles(roles);
        if (roles && args.flags.has('no-roles')) throw new CliError('--role and --no-roles contradict each other', 2);
        if (email === undefined && fullName === undefined && !roles && !args.flags.has('no-roles')) {
          throw new CliError('users update needs at least one of --email, --name, --role, --no-roles', 2);
        }
        const updated = await (await open()).updateProfile(name, {
          ...(email !== undefined ? { email: email === '' ? null : email } : {}),
          ...(fullName !== undefined ? { name: fullName === '' ? null : fullName } : {}),
          ...(roles ? { roles: [...new Set(roles)] } : args.flags.has('no-roles') ? { roles: [] } : {}),
        });
        io.out(`updated user ${updated.username}\n${describe(updated)}`);
        return;
      }
      case 'remove':
        onlyFlags(args, []);
        await (await open()).remove(username(args));
        io.out('removed');
        return;
      case 'passwd': {
        onlyFlags(args, ['password-stdin']);
        const name = username(args);
        if (!args.flags.has('password-stdin')) throw new CliError('users passwd needs --password-stdin', 2);
        const password = await readPassword(io.stdin);
        await (await open()).setPassword(name, password);
        io.out('password changed');
        return;
      }
      case 'disable':
      case 'enable':
        onlyFlags(args, []);
        await (await open()).setDisabled(username(args), action === 'disable');
        io.out(action === 'disable' ? 'disabled' : 'enabled');
        return;
      case 'mfa':
        return await mfaCommand(args, open, io, audit);
      default:
        throw new CliError(`usage:\n${USERS_USAGE}`, 2);
    }
  } catch (err) {
    if (err instanceof AccountError) throw new CliError(err.message, err.code === 'NOT_FOUND' ? 1 : 2);
    throw err;
  }
}
