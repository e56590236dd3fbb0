/** `users add|list|remove|passwd|disable|enable` against the configured store. */
import { AccountError, type AccountService } from '../../accounts/service.ts';
import { CliError, type Io, onlyFlags, type ParsedArgs, readPassword, single } from '../io.ts';

export const USERS_USAGE = `users add <username> --password-stdin [--email E] [--name N] [--role R]...
users list
users remove <username>
users passwd <username> --password-stdin
users disable <username>
users enable <username>`;

function username(args: ParsedArgs): string {
  const [, name, extra] = args.positionals;
  if (!name) throw new CliError('missing <username>', 2);
  if (extra) throw new CliError(`unexpected argument ${extra}`, 2);
  return name;
}

/** `open` connects to the store only once the arguments are known to be valid. */
export async function users(args: ParsedArgs, open: () => Promise<AccountService>, io: Io): Promise<void> {
  const action = args.positionals[0];
  try {
    switch (action) {
      case 'add': {
        onlyFlags(args, ['password-stdin', 'email', 'name', 'role']);
        const name = username(args);
        if (!args.flags.has('password-stdin')) throw new CliError('users add needs --password-stdin (passwords are never taken as arguments)', 2);
        const email = single(args, 'email');
        if (email !== undefined && !/^[^\s@]+@[^\s@]+$/.test(email)) throw new CliError('--email is not an email address', 2);
        const roles = args.flags.get('role') ?? [];
        for (const role of roles) if (!/^[A-Za-z0-9:._-]{1,64}$/.test(role)) throw new CliError(`--role ${role} is not a valid role name`, 2);
        const password = await readPassword(io.stdin);
        const fullName = single(args, 'name');
        const account = await (await open()).create({
          username: name,
          password,
          roles: [...new Set(roles)],
          ...(email ? { email } : {}),
          ...(fullName ? { name: fullName } : {}),
        });
        io.out(`created user ${account.username} (sub ${account.id})`);
        return;
      }
      case 'list': {
        onlyFlags(args, []);
        for (const a of await (await open()).list()) {
          io.out([a.username, a.id, a.email ?? '-', a.roles.join(',') || '-', a.disabled ? 'disabled' : 'active'].join('\t'));
        }
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
      default:
        throw new CliError(`usage:\n${USERS_USAGE}`, 2);
    }
  } catch (err) {
    if (err instanceof AccountError) throw new CliError(err.message, err.code === 'NOT_FOUND' ? 1 : 2);
    throw err;
  }
}
