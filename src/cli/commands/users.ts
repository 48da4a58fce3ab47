import type { Command } from 'commander';
import { ValidationError } from '../../core/errors.js';
import { hashPassword } from '../../server/auth-crypto.js';
import { type GlobalOptions, printJson, withStore } from '../context.js';
import { dim, relativeTime, table } from '../format.js';
import { readNewPassword } from '../password.js';
import { checkName, ROLES, roleFlag } from './tokens.js';

type Globals = () => GlobalOptions;

export function usersCommands(program: Command, globals: Globals): void {
  const users = program
    .command('users')
    .alias('user')
    .description(
      'users who log in to the web UI (POST /api/v1/auth/login); passwords stored as scrypt hashes',
    );

  users
    .command('create <username>')
    .description('create a user (password from --password-stdin, STINT_PASSWORD, or a prompt)')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .option('--password-stdin', 'read the password from the first line of stdin')
    .option('--password <password>', 'the password (visible in the process list: prefer --password-stdin)')
    .action(async (username: string, opts: { role: string; passwordStdin?: boolean; password?: string }) => {
      const g = globals();
      checkName('username', username);
      const role = roleFlag(opts.role);
      const password = await readNewPassword(opts);
      const passwordHash = await hashPassword(password);
      const user = await withStore(g, (store) =>
        store.insertUser({ username, role, passwordHash, now: Date.now() }),
      );
      if (g.json) return printJson(user);
      console.log(`user ${user.username} (${user.role}) created`);
    });

  users
    .command('ls')
    .alias('list')
    .description('list users (never their password hashes)')
    .action(async () => {
      const g = globals();
      const all = await withStore(g, (store) => store.listUsers());
      if (g.json) return printJson({ users: all });
      if (all.length === 0)
        return console.log(
          dim('no users (create one: stint users create <name> --role admin --password-stdin)'),
        );
      console.log(
        table(
          ['ID', 'USERNAME', 'ROLE', 'CREATED'],
          all.map((u) => [u.id, u.username, u.role, relativeTime(u.createdAt)]),
        ),
      );
    });

  users
    .command('rm <username>')
    .alias('remove')
    .description('remove a user; their sessions end at once')
    .action(async (username: string) => {
      const g = globals();
      const removed = await withStore(g, (store) => store.deleteUser(username));
      if (!removed)
        throw new ValidationError(`no user ${username}: list them with stint users ls`, [
          { path: 'username', message: username },
        ]);
      if (g.json) return printJson({ removed: username });
      console.log(`user ${username} removed`);
    });
}
