import type { Command } from 'commander';
import { parseDuration } from '../../core/duration.js';
import { ValidationError } from '../../core/errors.js';
import { newApiToken } from '../../server/auth-crypto.js';
import type { ApiTokenRecord, AuthRole } from '../../store/auth-types.js';
import { type GlobalOptions, printJson, withStore } from '../context.js';
import { bold, dim, relativeTime, table } from '../format.js';
import { choiceFlag } from '../parse.js';

type Globals = () => GlobalOptions;

export const ROLES: readonly AuthRole[] = ['viewer', 'operator', 'admin'];

/** Names of tokens and users: what a shell, a table and a log line show without quoting. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$/;

export function checkName(flag: string, name: string): string {
  if (!NAME.test(name))
    throw new ValidationError(
      `${flag} must be 1-100 letters, digits, '.', '_', '@' or '-', starting with a letter or digit (got ${JSON.stringify(name)})`,
      [{ path: flag, message: name }],
    );
  return name;
}

export function roleFlag(text: string): AuthRole {
  return choiceFlag('--role', text, ROLES) as AuthRole;
}

function state(t: ApiTokenRecord, now: number): string {
  if (t.revokedAt !== null) return 'revoked';
  if (t.expiresAt !== null && t.expiresAt <= now) return 'expired';
  return 'active';
}

export function tokensCommands(program: Command, globals: Globals): void {
  const tokens = program
    .command('tokens')
    .alias('token')
    .description('API tokens for the HTTP API (Authorization: Bearer <token>); stored hashed');

  tokens
    .command('create')
    .description('create a token and print it once (it cannot be shown again)')
    .requiredOption('--name <name>', 'what the token is for, e.g. ci (unique among live tokens)')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .option('--expires <duration>', 'lifetime, e.g. 90d or 12h (default: never expires)')
    .action(async (opts: { name: string; role: string; expires?: string }) => {
      const g = globals();
      const name = checkName('--name', opts.name);
      const role = roleFlag(opts.role);
      const ttl = opts.expires === undefined ? null : parseDuration(opts.expires, '--expires');
      if (ttl === 0)
        throw new ValidationError('--expires must be longer than 0', [{ path: '--expires', message: '0' }]);
      const { token, hash } = newApiToken();
      const now = Date.now();
      const record = await withStore(g, (store) =>
        store.insertApiToken({ name, role, hash, expiresAt: ttl === null ? null : now + ttl, now }),
      );
      if (g.json) return printJson({ ...record, token });
      // The token alone on stdout (TOKEN=$(stint tokens create ...)); the rest on stderr.
      console.error(
        `${bold(`token ${record.name}`)} (${record.role}, id ${record.id}) created${record.expiresAt === null ? '' : `, expires ${new Date(record.expiresAt).toISOString()}`}.`,
      );
      console.error(dim('Store it now: it is not shown again. Use it as: Authorization: Bearer <token>'));
      console.log(token);
    });

  tokens
    .command('ls')
    .alias('list')
    .description('list tokens (never their secrets), revoked and expired ones too')
    .action(async () => {
      const g = globals();
      const all = await withStore(g, (store) => store.listApiTokens());
      if (g.json) return printJson({ tokens: all });
      if (all.length === 0)
        return console.log(dim('no tokens (create one: stint tokens create --name ci --role viewer)'));
      const now = Date.now();
      console.log(
        table(
          ['ID', 'NAME', 'ROLE', 'STATE', 'CREATED', 'LAST USED', 'EXPIRES'],
          all.map((t) => [
            t.id,
            t.name,
            t.role,
            state(t, now),
            relativeTime(t.createdAt, now),
            relativeTime(t.lastUsedAt, now),
            t.expiresAt === null ? 'never' : relativeTime(t.expiresAt, now),
          ]),
        ),
      );
    });

  tokens
    .command('revoke <token>')
    .description('revoke a live token by id or name; requests with it are refused at once')
    .action(async (idOrName: string) => {
      const g = globals();
      const revoked = await withStore(g, (store) => store.revokeApiToken(idOrName, Date.now()));
      if (!revoked)
        throw new ValidationError(
          `no live token has the id or name ${idOrName}: list them with stint tokens ls`,
          [{ path: 'token', message: idOrName }],
        );
      if (g.json) return printJson(revoked);
      console.log(`token ${revoked.name} (id ${revoked.id}) revoked`);
    });
}
