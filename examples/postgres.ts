// The code shown in docs/many-machines.md; a test runs it against a fresh schema.
// Usage: npx tsx examples/postgres.ts 'postgres://postgres@127.0.0.1:5432/test?schema=stint_example'
import pg from 'pg';
import { z } from 'zod';
import { createClient, createWorker, defineTask } from '../src/index.js';

const resize = defineTask({
  name: 'resize',
  input: z.object({ url: z.string().url(), width: z.number().int().positive() }),
  run: (_ctx, { url, width }) => ({ url: `${url}?w=${width}` }),
});

const database = process.argv[2] ?? 'postgres://postgres@127.0.0.1:5432/test?schema=stint';

// #region connect
// Every process, on every machine: the same URL (?schema= picks stint's schema, default "stint").
const worker = createWorker({ store: database, tasks: [resize], concurrency: 20 });
await worker.start();

const client = createClient({ store: database });
const job = await client.submit(resize, { url: 'https://example.com/cat.png', width: 640 });
console.log('result', (await job.result({ timeout: '10s' })).url);
// #endregion connect

// #region transaction
// Enqueue inside your own transaction: the job exists if and only if it commits.
const pool = new pg.Pool({ connectionString: database.split('?')[0] });
const tx = await pool.connect();
try {
  await tx.query('BEGIN');
  // ... your own writes with `tx` ...
  await client.submit(resize, { url: 'https://example.com/dog.png', width: 320 }, { tx });
  await tx.query('COMMIT');
} catch (err) {
  await tx.query('ROLLBACK');
  throw err;
} finally {
  tx.release();
}
// #endregion transaction
await pool.end();

await worker.close();
await client.close();
