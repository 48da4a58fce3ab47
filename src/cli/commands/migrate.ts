import type { Command } from 'commander';
import { databaseUrl, type GlobalOptions, printJson, withStore } from '../context.js';

export function migrateCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('migrate')
    .description('create or upgrade the database schema (every command also does this on start)')
    .action(async () => {
      const g = globals();
      await withStore(g, async (store) => {
        if (g.json) printJson({ database: store.description, migrated: true });
        else console.log(`${databaseUrl(g)}: schema is up to date`);
      });
    });
}
