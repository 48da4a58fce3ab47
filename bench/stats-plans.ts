/**
 * Timings and query plans of what the web UI's overview reads (`jobThroughput`, `failingTasks`,
 * `GET /api/v1/overview`) on a table of 1,000,000 jobs, for docs (bench/README.md, "Overview
 * reads"). Not part of `npm run bench`: run it by hand.
 *   node --import tsx bench/stats-plans.ts sqlite|postgres [spread|dense] [rows]
 * SQLite: a temp file, removed afterwards. PostgreSQL: a throwaway schema in the database named by
 * STINT_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/test), dropped afterwards.
 *
 * Rows are written straight into the migrated table with one INSERT ... SELECT, 50 tasks over 4
 * queues: 90% succeeded, 8% failed, 2% cancelled, the newest 20 still running. `spread`: one job
 * every 100 ms (~28 h for a million; the last hour holds 36,000). `dense`: the whole million finished
 * within the last hour, the worst case for a range read. Each case is timed through the store
 * (median of 5 after one warm-up), then the throughput cases again with migration 6's
 * `jobs_finished (finished_at)` in place of migration 7's, to show what holding state and
 * started_at in the index buys.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createFakeClock } from '../src/core/clock.js';
import { createPostgresStore, createSqliteStore, type Store } from '../src/index.js';
import { createServer } from '../src/server/server.js';
import { dropSchema, freshSchema, PG_URL } from './pg-systems.js';

const kind = process.argv[2];
const layout = process.argv[3] ?? 'spread';
const ROWS = Number(process.argv[4] ?? 1_000_000);
const HOUR = 3_600_000;
const STEP_MS = layout === 'dense' ? HOUR / ROWS : 100;
const T0 = Date.UTC(2026, 0, 1);
const LAST = T0 + (ROWS - 1) * STEP_MS;
const NOW = Math.ceil(LAST + 1000);

/** Columns of the fill; `n` is 1..ROWS. `floor` makes a dense layout's fractional steps whole ms. */
function fill(n: string, floor: (x: string) => string) {
  const created = floor(`${T0} + (${n} - 1) * ${STEP_MS}`);
  const state = `CASE WHEN ${n} > ${ROWS - 20} THEN 'running' WHEN ${n} % 100 < 90 THEN 'succeeded'
    WHEN ${n} % 100 < 98 THEN 'failed' ELSE 'cancelled' END`;
  return {
    created,
    state,
    started: `CASE WHEN ${n} % 100 >= 98 AND ${n} <= ${ROWS - 20} THEN NULL ELSE ${created} + 50 END`,
    finished: `CASE WHEN ${n} > ${ROWS - 20} THEN NULL ELSE ${created} + 100 END`,
    lease: `CASE WHEN ${n} > ${ROWS - 20} THEN ${NOW + HOUR} ELSE NULL END`,
    task: `'t' || (${n} % 50)`,
    queue: `'q' || (${n} % 4)`,
  };
}

const CASES: { name: string; run: (store: Store) => Promise<unknown> }[] = [
  { name: 'jobThroughput() last hour, 60 x 1 min', run: (s) => s.jobThroughput() },
  {
    name: 'jobThroughput() last 24 h, 24 x 1 h',
    run: (s) => s.jobThroughput({ since: NOW - 23 * HOUR - (NOW % HOUR), bucketMs: HOUR }),
  },
  { name: 'failingTasks() last hour, top 10', run: (s) => s.failingTasks({ since: NOW - HOUR }) },
  { name: 'listQueues() (in the overview)', run: (s) => s.listQueues() },
];

async function median(fn: () => Promise<unknown>): Promise<number> {
  await fn(); // warm
  const ms: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return ms.sort((a, b) => a - b)[2] as number;
}

async function measure(store: Store, label: string): Promise<void> {
  for (const c of CASES)
    console.log(`| ${label} | ${c.name} | ${(await median(() => c.run(store))).toFixed(1)} |`);
  const server = createServer({ store, auth: { mode: 'off' }, logger: false });
  await server.app.ready();
  try {
    const ms = await median(async () => {
      const res = await server.app.inject('/api/v1/overview');
      if (res.statusCode !== 200) throw new Error(`overview answered ${res.statusCode}: ${res.body}`);
    });
    console.log(`| ${label} | GET /api/v1/overview (all of it) | ${ms.toFixed(1)} |`);
  } finally {
    await server.close();
  }
}

function machineLine(): string {
  const db = new Database(':memory:');
  const sqlite = db.prepare('select sqlite_version()').pluck().get() as string;
  db.close();
  const cpu = cpus();
  return `${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'} | ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM | Node ${process.version} | SQLite ${sqlite} | ${platform()} ${release()}`;
}

const WHERE_FINISHED = "WHERE state IN ('succeeded', 'failed', 'cancelled')";
const PLAIN_INDEX = `(finished_at) ${WHERE_FINISHED}`;

async function sqlite(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'stint-stats-plans-'));
  const path = join(dir, 'stats.db');
  try {
    await createSqliteStore({ path }).close();
    const db = new Database(path);
    const f = fill('n', (x) => `CAST(${x} AS INTEGER)`);
    db.exec(`WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ${ROWS})
      INSERT INTO jobs (id, task, queue, state, input, priority, run_at, created_at, started_at, finished_at,
        lease_expires_at, attempt, max_attempts, backoff_ms, backoff_factor, backoff_max_ms, backoff_jitter)
      SELECT n, ${f.task}, ${f.queue}, ${f.state}, '{}', 0, ${f.created}, ${f.created}, ${f.started},
        ${f.finished}, ${f.lease}, 1, 3, 1000, 2, 60000, 0 FROM g`);
    db.exec('ANALYZE');
    const explain = (sql: string, values: Record<string, number>) =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(values) as { detail: string }[])
        .map((p) => p.detail)
        .join('; ');
    const { STATS_SQL } = await import('../src/store/sqlite/stats.js');
    const params = {
      first: NOW - HOUR - ((NOW - HOUR) % 60_000),
      bucket: 60_000,
      since: NOW - HOUR,
      until: NOW,
    };
    const { first: _first, ...withoutFirst } = params;
    const plans = () =>
      [STATS_SQL.finishedPerBucket, STATS_SQL.otherStarts]
        .map((sql) => explain(sql, sql.includes(':first') ? params : withoutFirst))
        .join(' | ');
    const store = createSqliteStore({ path, clock: createFakeClock(NOW) });
    try {
      console.log(`plan (throughput): ${plans()}`);
      await measure(store, '(finished_at, state, started_at)');
      db.exec(`DROP INDEX jobs_finished; CREATE INDEX jobs_finished ON jobs ${PLAIN_INDEX}; ANALYZE`);
      console.log(`plan (throughput, plain index): ${plans()}`);
      for (const c of CASES.slice(0, 2))
        console.log(`| (finished_at) | ${c.name} | ${(await median(() => c.run(store))).toFixed(1)} |`);
    } finally {
      await store.close();
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function postgres(): Promise<void> {
  const schema = freshSchema('stint');
  const store = createPostgresStore({
    connectionString: PG_URL,
    schema,
    maxConnections: 4,
    clock: createFakeClock(NOW),
  });
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  try {
    await store.now(); // migrated
    const f = fill('n', (x) => `floor(${x})::bigint`);
    await admin.query(`INSERT INTO "${schema}".jobs (task, queue, state, input, priority, run_at, created_at,
        started_at, finished_at, lease_expires_at, attempt, max_attempts, backoff_ms, backoff_factor, backoff_max_ms,
        backoff_jitter)
      SELECT ${f.task}, ${f.queue}, ${f.state}, '{}', 0, ${f.created}, ${f.created}, ${f.started}, ${f.finished},
        ${f.lease}, 1, 3, 1000, 2, 60000, 0
      FROM generate_series(1, ${ROWS}) AS n`);
    await admin.query(`VACUUM ANALYZE "${schema}".jobs`);
    const { pgStatsSql } = await import('../src/store/postgres/stats.js');
    const sql = pgStatsSql(schema).throughput;
    const explain = async () => {
      // As the store runs it: a generic plan (the store's connections force them).
      await admin.query('SET plan_cache_mode = force_generic_plan');
      await admin.query(`PREPARE tp(bigint, bigint, bigint) AS ${sql}`);
      const plan = await admin.query(
        `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE tp(60000, ${NOW - HOUR}, ${NOW})`,
      );
      await admin.query('DEALLOCATE tp');
      return plan.rows
        .map((row) => (row as Record<string, string>)['QUERY PLAN'] ?? '')
        .filter((l) => /Scan|Execution|Heap Fetches|Buffers|Cond/.test(l))
        .join('\n');
    };
    console.log(`plan (throughput):\n${await explain()}`);
    await measure(store, '(finished_at) INCLUDE (state, started_at)');
    await admin.query(`DROP INDEX "${schema}".jobs_finished`);
    await admin.query(`CREATE INDEX jobs_finished ON "${schema}".jobs ${PLAIN_INDEX}`);
    await admin.query(`VACUUM ANALYZE "${schema}".jobs`);
    console.log(`plan (throughput, plain index):\n${await explain()}`);
    for (const c of CASES.slice(0, 2))
      console.log(`| (finished_at) | ${c.name} | ${(await median(() => c.run(store))).toFixed(1)} |`);
  } finally {
    await store.close();
    await admin.end();
    await dropSchema(schema);
  }
}

console.log(
  `machine: ${machineLine()} | load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
console.log(`${kind}, ${layout}: ${ROWS.toLocaleString('en-US')} jobs, now = newest + 1 s`);
if (kind === 'sqlite') await sqlite();
else if (kind === 'postgres') await postgres();
else throw new Error('usage: stats-plans.ts sqlite|postgres [spread|dense] [rows]');
