import { Command, CommanderError } from 'commander';
import { StintError, ValidationError } from '../core/errors.js';
import { stintVersion } from '../internal/version.js';
import { backfillCommands } from './commands/backfill.js';
import { datasetsCommands } from './commands/datasets.js';
import { devCommand } from './commands/dev.js';
import { flowsCommands } from './commands/flows.js';
import { jobsCommands, logsCommand } from './commands/jobs.js';
import { migrateCommand } from './commands/migrate.js';
import { queuesCommands, workersCommands } from './commands/queues.js';
import { schedulesCommands } from './commands/schedules.js';
import { serverCommand } from './commands/server.js';
import { submitCommand } from './commands/submit.js';
import { tokensCommands } from './commands/tokens.js';
import { usersCommands } from './commands/users.js';
import { workerCommand } from './commands/worker.js';
import { databaseUrl, EXIT, type GlobalOptions } from './context.js';

/** Commands that work on the store itself: they refuse `--server`. */
const STORE_ONLY = new Set(['dev', 'worker', 'server', 'migrate', 'tokens', 'users']);

/** Exit 2 for errors the same command cannot get past by running again: bad input, a refused token. */
const USAGE_CODES = new Set(['VALIDATION', 'UNAUTHENTICATED', 'FORBIDDEN']);

export function buildProgram(): Command {
  const program = new Command('stint')
    .description('durable jobs and workflows for TypeScript')
    .version(stintVersion())
    .option(
      '--database <url>',
      'SQLite file path, sqlite: URL or postgres:// URL (env STINT_DATABASE_URL; default .stint/stint.db)',
    )
    .option(
      '--server <url>',
      'work on a stint server through its HTTP API instead of a database (env STINT_SERVER)',
    )
    .option('--token <token>', 'API token for --server (env STINT_TOKEN, which keeps it out of ps)')
    .option('--json', 'machine-readable output')
    .showHelpAfterError('(run stint --help for usage)')
    .exitOverride();
  const globals = () => program.opts<GlobalOptions>();
  devCommand(program, globals);
  workerCommand(program, globals);
  serverCommand(program, globals);
  submitCommand(program, globals);
  jobsCommands(program, globals);
  logsCommand(program, globals);
  flowsCommands(program, globals);
  schedulesCommands(program, globals);
  backfillCommands(program, globals);
  datasetsCommands(program, globals);
  queuesCommands(program, globals);
  workersCommands(program, globals);
  tokensCommands(program, globals);
  usersCommands(program, globals);
  migrateCommand(program, globals);
  program.hook('preAction', (_program, action) => {
    let top: Command = action;
    while (top.parent && top.parent !== program) top = top.parent;
    // Commands that need the store itself say so before they start, rather than open a local file.
    if (STORE_ONLY.has(top.name())) databaseUrl(globals(), top.name());
  });
  for (const cmd of program.commands) {
    cmd.exitOverride();
    for (const sub of cmd.commands) sub.exitOverride();
  }
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    if (err instanceof ValidationError && err.issues.length > 1) {
      console.error(`stint: ${err.message.replace(/ \(and \d+ more\)$/, '')}`);
      for (const issue of err.issues.slice(1)) console.error(`  ${issue.path}: ${issue.message}`);
      process.exitCode = EXIT.usage;
      return;
    }
    if (err instanceof StintError) {
      console.error(`stint: ${err.message}`);
      process.exitCode = USAGE_CODES.has(err.code) ? EXIT.usage : EXIT.failed;
      return;
    }
    console.error(`stint: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = EXIT.failed;
  }
}
