import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createClient, createSqliteStore } from '../../src/index.js';
import { waitForFile } from '../fixtures/ledger-tasks.js';
import { tempDbPath, tempDir } from '../helpers.js';
import { spawnFixture } from '../processes.js';
import { readLedger, runChaos } from './chaos.js';

const dir = tempDir();

describe('a worker killed mid-job', () => {
  it('has its job run again elsewhere after the lease expires (SIGKILL)', async () => {
    const db = tempDbPath(dir);
    const ledgerFile = join(dir, 'ledger-kill.txt');
    const release = join(dir, 'release-kill');
    const store = createSqliteStore({ path: db });
    const client = createClient({ store, tasks: [waitForFile] });
    try {
      const first = spawnFixture('worker-child.ts', [db], {
        STINT_LEDGER: ledgerFile,
        STINT_LEASE_MS: '1000',
      });
      await first.waitFor(/^ready /);
      const handle = await client.submit(waitForFile, { file: release });
      await first.waitFor(/^started /);
      first.process.kill('SIGKILL');
      await first.exited;

      writeFileSync(release, '');
      const second = spawnFixture('worker-child.ts', [db], {
        STINT_LEDGER: ledgerFile,
        STINT_LEASE_MS: '1000',
      });
      const result = await handle.result({ timeout: '20s' });
      expect(result).toMatchObject({ attempt: 2, pid: second.process.pid });
      const job = await handle.get();
      expect(job.state).toBe('succeeded');
      const types = (await client.events(handle.id)).map((e) => e.type);
      expect(types).toEqual([
        'created',
        'started',
        'lease_expired',
        'retry_scheduled',
        'started',
        'succeeded',
      ]);
      expect(readLedger(ledgerFile)).toEqual([`${handle.id} 2`]);
      second.process.kill('SIGTERM');
      await second.exited;
    } finally {
      await client.close();
      await store.close();
    }
  });

  it("rejects the first attempt's late completion after another worker took over (SIGSTOP, then SIGCONT)", async () => {
    const db = tempDbPath(dir);
    const ledgerFile = join(dir, 'ledger-stop.txt');
    const release = join(dir, 'release-stop');
    const store = createSqliteStore({ path: db });
    const client = createClient({ store, tasks: [waitForFile] });
    try {
      // A long lease and heartbeat, so that once woken, the first worker's handler reports before
      // its next heartbeat could tell it the lease is gone (which would drop the result instead).
      const first = spawnFixture('worker-child.ts', [db], {
        STINT_LEDGER: ledgerFile,
        STINT_LEASE_MS: '30000',
        STINT_HEARTBEAT_MS: '20000',
      });
      await first.waitFor(/^ready /);
      const handle = await client.submit(waitForFile, { file: release });
      await first.waitFor(/^started /);
      first.process.kill('SIGSTOP'); // frozen: the handler still holds the job
      // As if the frozen worker had been silent past its lease (forged rather than waited for).
      const raw = new Database(db);
      raw.prepare('UPDATE jobs SET lease_expires_at = 0 WHERE id = ?').run(Number(handle.id));
      raw.close();

      const second = spawnFixture('worker-child.ts', [db], {
        STINT_LEDGER: ledgerFile,
        STINT_LEASE_MS: '1000',
      });
      await second.waitFor(/^started \d+ 2$/);
      writeFileSync(release, '');
      expect(await handle.result({ timeout: '20s' })).toMatchObject({ attempt: 2, pid: second.process.pid });

      // Wake the first worker: its handler finishes and reports attempt 1, which must be rejected.
      first.process.kill('SIGCONT');
      const deadline = Date.now() + 15_000;
      while (!(await client.events(handle.id)).some((e) => e.type === 'stale_completion')) {
        if (Date.now() > deadline) throw new Error('the late completion of attempt 1 never arrived');
        await new Promise((r) => setTimeout(r, 50));
      }
      const job = await handle.get();
      expect(job).toMatchObject({ state: 'succeeded', attempt: 2, output: { attempt: 2 } });
      const events = await client.events(handle.id);
      expect(events.filter((e) => e.type === 'succeeded')).toHaveLength(1);
      expect(events.find((e) => e.type === 'stale_completion')).toMatchObject({
        attempt: 1,
        detail: { currentAttempt: 2 },
      });
      for (const child of [first, second]) {
        child.process.kill('SIGTERM');
        await child.exited;
      }
    } finally {
      await client.close();
      await store.close();
    }
  });
});

describe('no loss, no double completion', () => {
  it('2 submitters and 2 workers share one file; 10,000 jobs survive 3 random SIGKILLs', async () => {
    const db = tempDbPath(dir);
    await runChaos({
      db,
      store: createSqliteStore({ path: db }),
      ledgerFile: join(dir, 'ledger-chaos.txt'),
      total: 10_000,
      workers: 2,
      kills: 3,
    });
  }, 180_000);
});
