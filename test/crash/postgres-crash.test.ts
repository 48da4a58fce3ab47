import { join } from 'node:path';
import { describe, it } from 'vitest';
import { createPostgresStore } from '../../src/store/postgres/store.js';
import { tempDir } from '../helpers.js';
import { freshSchema, PG_URL, pgAvailable } from '../pg.js';
import { runChaos } from './chaos.js';

const available = await pgAvailable();
const dir = tempDir();

describe.skipIf(!available)('PostgreSQL: no loss, no double completion', () => {
  it('2 submitters and 4 workers share one database; 20,000 jobs survive 4 random SIGKILLs', async () => {
    const schema = freshSchema();
    const db = `${PG_URL}?schema=${schema}`;
    await runChaos({
      db,
      store: createPostgresStore({ connectionString: PG_URL, schema }),
      ledgerFile: join(dir, 'ledger-pg.txt'),
      total: 20_000,
      workers: 4,
      kills: 4,
    });
  }, 240_000);
});
