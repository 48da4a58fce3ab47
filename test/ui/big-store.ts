/**
 * A SQLite store with many jobs, written fast: the store migrates the file, then one INSERT ...
 * SELECT over a recursive counter fills the jobs table in one transaction with rows shaped like
 * the store's own (as bench/list-plans.ts does). Ids and created_at grow together, one job every
 * 100 ms (or `stepMs`) ending now; states, tasks and queues vary so the table looks like a real one.
 */
import Database from 'better-sqlite3';
import { createSqliteStore } from '../../src/index.js';

const STEP_MS = 100;
const TASKS = ['report', 'ticker', 'createNetwork', 'bootVm', 'sendEmail', 'resizeImage', 'syncUsers'];

/** Creates (migrates) the database at `path` and inserts `rows` jobs; returns the newest job's id. */
export async function fillJobs(
  path: string,
  rows: number,
  options: { now?: number; stepMs?: number } = {},
): Promise<number> {
  await createSqliteStore({ path }).close();
  const db = new Database(path);
  try {
    const step = options.stepMs ?? STEP_MS;
    // Every job has finished by `now` (each ran for up to 9.9 s).
    const t0 = (options.now ?? Date.now()) - rows * step - 10_000;
    const tasks = `CASE n % ${TASKS.length} ${TASKS.map((t, i) => `WHEN ${i} THEN '${t}'`).join(' ')} END`;
    // 1 in 50 failed, 1 in 200 cancelled, the rest succeeded; each ran for 0-9.9 s.
    const state = `CASE WHEN n % 50 = 0 THEN 'failed' WHEN n % 200 = 7 THEN 'cancelled' ELSE 'succeeded' END`;
    const error = `CASE WHEN n % 50 = 0 THEN '{"name":"Error","message":"export ' || n || ' failed","code":"TASK_FAILED"}' END`;
    db.exec(`WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ${rows})
      INSERT INTO jobs (id, task, queue, state, input, output, error, priority, run_at, created_at, started_at,
        finished_at, attempt, max_attempts, backoff_ms, backoff_factor, backoff_max_ms, backoff_jitter,
        worker_id, metadata)
      SELECT n, ${tasks}, CASE WHEN n % 3 = 0 THEN 'reports' ELSE 'default' END, ${state},
        '{"n":' || n || '}', CASE WHEN n % 50 <> 0 THEN '{"ok":true}' END, ${error}, 0,
        ${t0} + n * ${step}, ${t0} + n * ${step}, ${t0} + n * ${step} + 5,
        ${t0} + n * ${step} + 5 + (n % 100) * 100, 1, 3, 1000, 2, 60000, 0,
        'worker-' || (n % 4), '{"customer":"c-' || (n % 1000) || '"}'
      FROM g`);
    db.exec('ANALYZE');
    return rows;
  } finally {
    db.close();
  }
}
