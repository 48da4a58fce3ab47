/**
 * Query plans and timings of `listJobs` on a table of 1,000,000 jobs, for docs (bench/README.md,
 * "Listing a big table"). Not part of `npm run bench`: run it by hand.
 *   node --import tsx bench/list-plans.ts sqlite|postgres [rows]
 * SQLite: a temp file, removed afterwards. PostgreSQL: a throwaway schema in the database named by
 * STINT_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/test), dropped afterwards.
 *
 * Rows are written straight into the migrated table with one INSERT ... SELECT: ids and created_at
 * grow together (one job every 100 ms, ~28 h for a million); 1 in 100,000 has customer "rare-<n>" in
 * its metadata, the others "c-<n % 1000>".
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createPostgresStore, createSqliteStore, type JobFilter, type Store } from '../src/index.js';
import { dropSchema, freshSchema, PG_URL } from './pg-systems.js';

const kind = process.argv[2];
const ROWS = Number(process.argv[3] ?? 1_000_000);
const STEP_MS = 100;
const T0 = Date.UTC(2026, 0, 1);
const LAST = T0 + (ROWS - 1) * STEP_MS;
const HOUR = 3_600_000;

const CASES: { name: string; filter: JobFilter }[] = [
  { name: 'first page, no filter', filter: {} },
  { name: 'last hour', filter: { createdAfter: LAST - HOUR } },
  {
    name: 'a 2 h window 10 h back',
    filter: { createdAfter: LAST - 12 * HOUR, createdBefore: LAST - 10 * HOUR },
  },
  { name: 'after the newest job (empty)', filter: { createdAfter: LAST + HOUR } },
  { name: 'before the oldest job (empty)', filter: { createdBefore: T0 - HOUR } },
  { name: 'state failed, last hour (none failed)', filter: { state: 'failed', createdAfter: LAST - HOUR } },
  { name: 'search common (1 in 1,000)', filter: { search: 'c-7"' } },
  { name: 'search rare (10 rows: reads all)', filter: { search: 'rare-' } },
  { name: 'search none, last hour', filter: { search: 'nobody', createdAfter: LAST - HOUR } },
];

function metadataOf(n: string): string {
  return `CASE WHEN ${n} % 100000 = 0 THEN '{"customer":"rare-' || ${n} || '"}' ELSE '{"customer":"c-' || (${n} % 1000) || '"}' END`;
}

async function time(store: Store, filter: JobFilter): Promise<{ ms: number; rows: number }> {
  await store.listJobs({ ...filter, limit: 50 }); // warm
  const t0 = performance.now();
  const page = await store.listJobs({ ...filter, limit: 50 });
  return { ms: performance.now() - t0, rows: page.jobs.length };
}

async function sqlite(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'stint-list-plans-'));
  const path = join(dir, 'plans.db');
  try {
    await createSqliteStore({ path }).close();
    const db = new Database(path);
    db.exec(`WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ${ROWS})
      INSERT INTO jobs (id, task, queue, state, input, priority, run_at, created_at, finished_at, attempt,
        max_attempts, backoff_ms, backoff_factor, backoff_max_ms, backoff_jitter, metadata)
      SELECT n, 't', 'default', 'succeeded', '{}', 0, ${T0} + n * ${STEP_MS}, ${T0} + (n - 1) * ${STEP_MS},
        ${T0} + n * ${STEP_MS}, 1, 3, 1000, 2, 60000, 0, ${metadataOf('n')} FROM g`);
    db.exec('ANALYZE');
    // The store's statements, captured to show their plans.
    const seen: { sql: string; params: unknown[] }[] = [];
    const prepare = Database.prototype.prepare;
    Database.prototype.prepare = function (this: Database.Database, sql: string) {
      const stmt = prepare.call(this, sql) as Database.Statement<unknown[]>;
      if (!sql.includes('ORDER BY id DESC')) return stmt;
      const all = stmt.all.bind(stmt);
      return Object.assign(stmt, {
        all: (...params: unknown[]) => {
          seen.push({ sql, params });
          return all(...params);
        },
      });
    } as typeof prepare;
    const store = createSqliteStore({ path });
    for (const c of CASES) {
      const r = await time(store, c.filter);
      const last = seen.at(-1);
      const plan = last
        ? (db.prepare(`EXPLAIN QUERY PLAN ${last.sql}`).all(...last.params) as { detail: string }[])
            .map((p) => p.detail)
            .join('; ')
        : '';
      console.log(`| ${c.name} | ${r.rows} | ${r.ms.toFixed(2)} | ${plan} |`);
    }
    await store.close();
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function postgres(): Promise<void> {
  const schema = freshSchema('stint');
  const store = createPostgresStore({ connectionString: PG_URL, schema, maxConnections: 2 });
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  try {
    await store.now(); // migrated
    await admin.query(`INSERT INTO "${schema}".jobs (task, queue, state, input, priority, run_at, created_at,
        finished_at, attempt, max_attempts, backoff_ms, backoff_factor, backoff_max_ms, backoff_jitter, metadata)
      SELECT 't', 'default', 'succeeded', '{}', 0, ${T0} + n * ${STEP_MS}, ${T0} + (n - 1) * ${STEP_MS},
        ${T0} + n * ${STEP_MS}, 1, 3, 1000, 2, 60000, 0, (${metadataOf('n')})::jsonb
      FROM generate_series(1, ${ROWS}) AS n`);
    await admin.query(`VACUUM ANALYZE "${schema}".jobs`);
    // The store's list statements, captured to EXPLAIN them.
    const seen: { text: string; values: unknown[] }[] = [];
    const query = pg.Client.prototype.query;
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const [q, v] = args as [unknown, unknown];
      const text = typeof q === 'string' ? q : (q as { text?: string })?.text;
      if (text?.includes('ORDER BY id DESC') && !text.startsWith('EXPLAIN'))
        seen.push({ text, values: (Array.isArray(v) ? v : (q as { values?: unknown[] }).values) ?? [] });
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof query;
    for (const c of CASES) {
      const r = await time(store, c.filter);
      const last = seen.at(-1);
      if (!last) continue;
      const plan = await admin.query(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${last.text}`, last.values);
      const lines = plan.rows.map((row) => (row as Record<string, string>)['QUERY PLAN'] ?? '');
      console.log(`\n### ${c.name}: ${r.rows} rows, ${r.ms.toFixed(2)} ms through the store`);
      console.log(
        lines.filter((l) => /Scan|Limit|Execution|Buffers|Filter|Cond|Rows Removed/.test(l)).join('\n'),
      );
    }
  } finally {
    await store.close();
    await admin.end();
    await dropSchema(schema);
  }
}

if (kind === 'sqlite') await sqlite();
else if (kind === 'postgres') await postgres();
else throw new Error('usage: list-plans.ts sqlite|postgres [rows]');
