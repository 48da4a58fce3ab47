import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createClient } from '../../src/index.js';
import { createPostgresStore } from '../../src/store/postgres/store.js';
import { waitForFile } from '../fixtures/ledger-tasks.js';
import { tempDir } from '../helpers.js';
import { freshSchema, PG_URL, pgAvailable } from '../pg.js';
import { spawnFixture } from '../processes.js';

const available = await pgAvailable();
const dir = tempDir();

async function coordinatorHolder(schema: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT holder FROM "${schema}".leases WHERE name = 'coordinator' AND expires_at > (extract(epoch from now()) * 1000)::bigint`,
    );
    return (rows[0]?.holder as string | undefined) ?? null;
  } finally {
    await client.end();
  }
}

describe.skipIf(!available)('PostgreSQL coordinator failover', () => {
  it('a process takes over the coordinator when its holder is killed, and still reclaims expired leases', async () => {
    const schema = freshSchema();
    const db = `${PG_URL}?schema=${schema}`;
    const env = { STINT_LEDGER: join(dir, 'ledger.txt'), STINT_LEASE_MS: '1000' };
    const release = join(dir, 'release');
    const store = createPostgresStore({ connectionString: PG_URL, schema });
    const client = createClient({ store, tasks: [waitForFile] });
    try {
      // A starts first and takes the coordinator lease, then runs the job.
      const a = spawnFixture('worker-child.ts', [db], env);
      await a.waitFor(/^ready /);
      let holder: string | null = null;
      for (let i = 0; i < 100 && !holder; i++) {
        holder = await coordinatorHolder(schema);
        if (!holder) await new Promise((r) => setTimeout(r, 50));
      }
      expect(holder).toContain(`:${a.process.pid}:`);
      const handle = await client.submit(waitForFile, { file: release });
      await a.waitFor(/^started /);

      const b = spawnFixture('worker-child.ts', [db], env);
      await b.waitFor(/^ready /);
      expect(await coordinatorHolder(schema)).toContain(`:${a.process.pid}:`);
      a.process.kill('SIGKILL'); // the coordinator and the job's holder die together
      await a.exited;
      writeFileSync(release, '');

      // B becomes the coordinator, sweeps A's expired lease, and runs the job's next attempt.
      expect(await handle.result({ timeout: '20s' })).toMatchObject({ attempt: 2, pid: b.process.pid });
      expect(await coordinatorHolder(schema)).toContain(`:${b.process.pid}:`);
      const history = (await client.events(handle.id)).map((e) => e.type);
      expect(history).toEqual([
        'created',
        'started',
        'lease_expired',
        'retry_scheduled',
        'started',
        'succeeded',
      ]);
      b.process.kill('SIGTERM');
      await b.exited;
    } finally {
      await client.close();
      await store.close();
    }
  }, 60_000);
});
