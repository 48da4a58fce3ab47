import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPostgresStore } from '../../src/store/postgres/store.js';
import { runChaos } from '../crash/chaos.js';
import { tempDir } from '../helpers.js';
import { freshSchema, PG_URL, pgAvailable } from '../pg.js';

// Restarting the database would break every other test file running at the same time, so this
// suite runs alone, after the main one (`npm test` runs vitest.chaos.config.ts second).
const available = await pgAvailable();
const canRestart = existsSync('/etc/postgresql') && existsSync('/usr/bin/pg_ctlcluster');
const dir = tempDir();

function restartCluster(): void {
  const version = readdirSync('/etc/postgresql')[0] as string;
  execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'restart'], {
    stdio: 'ignore',
  });
}

describe.skipIf(!available || !canRestart)('PostgreSQL restart in the middle of a run', () => {
  it('2 submitters and 2 workers run 2,000 jobs through a database restart: nothing lost or doubled', async () => {
    const schema = freshSchema();
    const { submitRetries } = await runChaos({
      db: `${PG_URL}?schema=${schema}`,
      store: createPostgresStore({ connectionString: PG_URL, schema }),
      ledgerFile: join(dir, 'ledger.txt'),
      total: 2_000,
      workers: 2,
      kills: 0,
      dedupKeys: true,
      disrupt: async () => restartCluster(),
      expectRetries: false,
    });
    // The restart happened while submitting (else this test proves nothing).
    expect(submitRetries).toBeGreaterThan(0);
  }, 240_000);
});
