/**
 * Schedule scenarios, on SQLite (default) or PostgreSQL (`--store postgres`): many schedules each
 * firing every second, fired by ONE coordinator in its own process (bench/schedule-coordinator.ts),
 * with no worker, so the jobs accumulate (10,000 schedules x 60 s = 600,000 jobs).
 *
 * - `schedules`: 10,000 schedules `{ every: '1s' }`, measured over 60 fire times.
 * - `schedules-cron`: 10,000 schedules `{ cron: '* * * * * *' }` (croner computes each next fire
 *   time), measured over 30 fire times.
 * BENCH_SCHEDULES and BENCH_SCHEDULE_SECONDS override the count and the window of both.
 *
 * How a run goes:
 * 1. One schedule is created with `client.createSchedule` (paused; its task input uses the
 *    `{{ fireTime }}` placeholder, so every run renders its input). Its stored target, trigger and
 *    policies are the template of the N benchmark schedules, inserted with `store.insertSchedule`
 *    (SQLite one after another, PostgreSQL 8 at once), all due an hour later; the template is
 *    deleted. Nothing is measured yet.
 * 2. The coordinator process starts and opens its own store. Then one SQL statement moves every
 *    schedule's next fire time (and wake time) to `t0`, the first whole second at least 3 s away,
 *    and the coordinator is told `t0`. (Both triggers fire on whole seconds, so `t0` is one of
 *    their fire times.)
 * 3. It fires until each schedule has its run for `t0 + (seconds - 1) s`, then stops and reports
 *    its RSS peak, CPU and store-call timings.
 * 4. Read from the database: each window run's lag = its job's `created_at` (the fire
 *    transaction's time) minus the run's fire time, as a histogram; that every (schedule, fire
 *    time) of the window has exactly one run, on the grid, with its job, and that no job exists
 *    without a run; jobs created per second of the window.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type pg from 'pg';
import {
  createClient,
  createPostgresStore,
  createSqliteStore,
  type Store,
  type TriggerSpec,
} from '../src/index.js';
import type { NewSchedule } from '../src/schedule/types.js';
import {
  count,
  endChild,
  forkTs,
  type Metric,
  median,
  nextMessage,
  noopTask,
  type ScenarioContext,
} from './lib.js';

/** The first fire time is at least this far after the coordinator is ready. */
const LEAD_MS = 3000;
const PG_CREATE_CONCURRENCY = 8;

interface Variant {
  key: string;
  label: string;
  trigger: TriggerSpec;
  schedules: number;
  seconds: number;
}

const envInt = (name: string): number | null => {
  const v = process.env[name];
  return v === undefined ? null : Number(v);
};

const INTERVAL: Variant = {
  key: 'sched',
  label: 'every 1s',
  trigger: { every: '1s' },
  schedules: envInt('BENCH_SCHEDULES') ?? 10_000,
  seconds: envInt('BENCH_SCHEDULE_SECONDS') ?? 60,
};
const CRON: Variant = {
  key: 'sched-cron',
  label: "cron '* * * * * *'",
  trigger: { cron: '* * * * * *' },
  schedules: envInt('BENCH_SCHEDULES') ?? 10_000,
  seconds: envInt('BENCH_SCHEDULE_SECONDS') ?? 30,
};

/** SQL access for the parent: the `t0` update and the checks. */
interface Sql {
  label: string;
  coordinatorArgs: string[];
  open(): Store;
  /** Rows of a query with `?` placeholders (rewritten to $n for PostgreSQL). */
  all(sql: string, params: unknown[]): Promise<Record<string, unknown>[]>;
  run(sql: string, params: unknown[]): Promise<number>;
  close(): Promise<void>;
}

async function sqliteSql(ctx: ScenarioContext): Promise<Sql> {
  const path = join(ctx.dir, 'schedules.db');
  let db: Database.Database | null = null;
  const conn = () => {
    db ??= new Database(path, { timeout: 10_000 });
    return db;
  };
  return {
    label: 'SQLite',
    coordinatorArgs: ['sqlite', path],
    open: () => createSqliteStore({ path }),
    all: async (sql, params) =>
      conn()
        .prepare(sql)
        .all(...params) as Record<string, unknown>[],
    run: async (sql, params) =>
      conn()
        .prepare(sql)
        .run(...params).changes,
    close: async () => {
      db?.close();
    },
  };
}

async function postgresSql(): Promise<Sql & { drop(): Promise<void> }> {
  const { PG_URL, dropSchema, freshSchema } = await import('./pg-systems.js');
  const { default: pgLib } = await import('pg');
  const schema = freshSchema('stint');
  let client: pg.Client | null = null;
  const conn = async () => {
    if (!client) {
      client = new pgLib.Client({ connectionString: PG_URL });
      await client.connect();
      await client.query(`SET search_path TO "${schema}"`);
    }
    return client;
  };
  const dollar = (sql: string) => {
    let n = 0;
    return sql.replace(/\?/g, () => `$${++n}`);
  };
  return {
    label: 'PostgreSQL',
    coordinatorArgs: ['postgres', schema],
    open: () => createPostgresStore({ connectionString: PG_URL, schema }),
    all: async (sql, params) => (await (await conn()).query(dollar(sql), params)).rows,
    run: async (sql, params) => (await (await conn()).query(dollar(sql), params)).rowCount ?? 0,
    close: async () => {
      await client?.end();
      client = null;
    },
    drop: () => dropSchema(schema),
  };
}

/** Creates the N schedules from one template made with the client API; returns schedules/s. */
async function createSchedules(sql: Sql, v: Variant, concurrency: number): Promise<number> {
  const store = sql.open();
  const client = createClient({ store, tasks: [noopTask()] });
  try {
    const template = await client.createSchedule({
      name: 'bench-template',
      task: 'noop',
      input: { fireTime: '{{ fireTime }}' },
      trigger: v.trigger,
      paused: true,
    });
    await client.deleteSchedule('bench-template');
    // Not due until the coordinator is ready: step 2 moves them to t0.
    const later = Math.ceil((Date.now() + 3_600_000) / 1000) * 1000;
    const row = (i: number): NewSchedule => ({
      name: `bench-${String(i).padStart(5, '0')}`,
      description: null,
      target: template.target,
      trigger: template.trigger,
      policies: template.policies,
      state: 'active',
      nextFireAt: later,
      wakeAt: later,
      metadata: null,
    });
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < v.schedules) await store.insertSchedule(row(next++));
      }),
    );
    return (v.schedules * 1000) / (performance.now() - started);
  } finally {
    await client.close();
    await store.close();
  }
}

interface Done {
  type: 'done';
  timedOut: boolean;
  stoppedAt: number;
  idleRss: number;
  rssPeak: number;
  atPeak: NodeJS.MemoryUsage | null;
  cpuMs: number;
  wallMs: number;
  createdInWindow: number;
  createdAll: number;
  errors: number;
  calls: Record<string, { n: number; ms: number }>;
  reads: { due: number; dueMs: number }[];
  fireCalls: { runs: number; planMs: number; fireMs: number; created: number }[];
  /** Reads, planning and fire calls, overlaps counted once. */
  busyMs: number;
  commitLag: [number, number][];
}

/** Percentile of a histogram (value -> count), nearest rank. */
function histPercentile(hist: readonly (readonly [number, number])[], p: number): number {
  const sorted = [...hist].sort((a, b) => a[0] - b[0]);
  const total = sorted.reduce((s, [, n]) => s + n, 0);
  if (total === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (const [value, n] of sorted) {
    seen += n;
    if (seen >= rank) return value;
  }
  return sorted.at(-1)?.[0] ?? Number.NaN;
}

const num = (v: unknown) => Number(v);

interface CpuTimes {
  busy: number;
  total: number;
}

/** The machine's CPU time so far (all cores, /proc/stat), to tell how busy the shared VM was. */
function machineCpu(): CpuTimes | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const [, ...fields] = line.trim().split(/\s+/);
    const t = fields.map(Number);
    const total = t.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (t[3] ?? 0) + (t[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return null; // not Linux
  }
}

async function runSchedules(sql: Sql, v: Variant, concurrency: number): Promise<Metric[]> {
  const began = performance.now();
  const log = (what: string) =>
    console.error(`    ${sql.label} ${v.key} +${((performance.now() - began) / 1000).toFixed(1)}s: ${what}`);
  const perSecond = await createSchedules(sql, v, concurrency);
  log(`${count(v.schedules)} schedules created (${perSecond.toFixed(0)}/s)`);
  const flags = ['--expose-gc', ...(process.env.BENCH_COORDINATOR_FLAGS ?? '').split(' ').filter(Boolean)];
  const child = forkTs('schedule-coordinator.ts', sql.coordinatorArgs, flags);
  let done: Done;
  let t0: number;
  let cpu0: CpuTimes | null = null;
  let cpu1: CpuTimes | null = null;
  let heapAfter = Number.NaN;
  let endedAt: number;
  try {
    await nextMessage(
      child,
      (m) => ((m as { type?: string }).type === 'ready' ? true : undefined),
      30_000,
      'the coordinator process to start',
    );
    t0 = Math.ceil((Date.now() + LEAD_MS) / 1000) * 1000;
    const moved = await sql.run('UPDATE schedules SET next_fire_at = ?, wake_at = ?', [t0, t0]);
    if (moved !== v.schedules) throw new Error(`moved ${moved} schedules to t0, expected ${v.schedules}`);
    child.send({ type: 'go', t0, seconds: v.seconds, schedules: v.schedules });
    cpu0 = machineCpu();
    log(`t0 in ${t0 - Date.now()} ms`);
    done = await nextMessage(
      child,
      (m) => ((m as { type?: string }).type === 'done' ? (m as Done) : undefined),
      t0 - Date.now() + v.seconds * 1000 + 25_000,
      'the coordinator to fire the window',
    );
    cpu1 = machineCpu();
    log(done.timedOut ? 'gave up waiting for the last fire time' : 'window fired');
    try {
      heapAfter = await nextMessage(
        child,
        (m) =>
          (m as { type?: string }).type === 'stopped' ? (m as { heapUsed: number }).heapUsed : undefined,
        10_000,
        'the coordinator to stop',
      );
    } catch {
      log('the coordinator did not stop within 10 s; killed');
    }
  } finally {
    await endChild(child, 2000);
    endedAt = Date.now();
  }

  // Checks and lag, straight from the tables.
  const first = t0;
  const end = t0 + v.seconds * 1000; // exclusive
  const expected = v.schedules * v.seconds;
  const lagRows = await sql.all(
    `SELECT j.created_at - r.fire_time AS lag, count(*) AS n
       FROM schedule_runs r JOIN jobs j ON j.id = r.job_id
      WHERE r.fire_time >= ? AND r.fire_time < ? GROUP BY j.created_at - r.fire_time`,
    [first, end],
  );
  const lag: [number, number][] = lagRows.map((r) => [num(r.lag), num(r.n)]);
  // Diagnostics (stderr): the slowest run of each fire time, to tell a steady lag from spikes.
  const bySecond = await sql.all(
    `SELECT r.fire_time AS t, max(j.created_at - r.fire_time) AS worst FROM schedule_runs r JOIN jobs j ON j.id = r.job_id
      WHERE r.fire_time >= ? AND r.fire_time < ? GROUP BY r.fire_time ORDER BY r.fire_time`,
    [t0, t0 + v.seconds * 1000],
  );
  log(`slowest run per fire time (ms): ${bySecond.map((r) => num(r.worst)).join(' ')}`);
  const [check] = await sql.all(
    `SELECT count(*) AS runs,
            count(DISTINCT r.schedule_id) AS schedules,
            sum(CASE WHEN (r.fire_time - ?) % 1000 <> 0 THEN 1 ELSE 0 END) AS off_grid,
            sum(CASE WHEN j.id IS NULL THEN 1 ELSE 0 END) AS without_job
       FROM schedule_runs r LEFT JOIN jobs j ON j.id = r.job_id
      WHERE r.fire_time >= ? AND r.fire_time < ?`,
    [first, first, end],
  );
  const [pairs] = await sql.all(
    `SELECT count(*) AS n FROM (SELECT schedule_id, fire_time FROM schedule_runs
       WHERE fire_time >= ? AND fire_time < ? AND (fire_time - ?) % 1000 = 0 GROUP BY schedule_id, fire_time) p`,
    [first, end, first],
  );
  const [totals] = await sql.all(
    `SELECT (SELECT count(*) FROM jobs) AS jobs,
            (SELECT count(*) FROM schedule_runs WHERE job_id IS NOT NULL) AS runs_with_job,
            (SELECT count(DISTINCT job_id) FROM schedule_runs WHERE job_id IS NOT NULL) AS distinct_jobs,
            (SELECT count(*) FROM jobs WHERE created_at >= ? AND created_at < ?) AS created_in_window`,
    [first, end],
  );
  if (!check || !pairs || !totals) throw new Error('the checks returned no row');
  // Fire times of the window not fired when the coordinator was stopped (it fires each
  // schedule's in order, so they are those at or after its next_fire_at): a backlog, not a miss.
  // Each counts in the lag figures with the lag it had by then (a lower bound).
  let backlog = 0;
  for (const r of await sql.all(
    'SELECT next_fire_at AS t, count(*) AS n FROM schedules GROUP BY next_fire_at',
    [],
  )) {
    for (let ft = Math.max(num(r.t), first); ft < end; ft += 1000) {
      backlog += num(r.n);
      lag.push([endedAt - ft, num(r.n)]);
    }
  }
  const distinct = num(pairs.n);
  const runs = num(check.runs);
  const missed = expected - distinct - backlog;
  // A second run for a (schedule, fire time), a run off the grid, a run without its job, a job
  // shared by two runs, or a job no run created.
  const doubled =
    runs -
    distinct +
    num(check.without_job) +
    (num(totals.runs_with_job) - num(totals.distinct_jobs)) +
    (num(totals.jobs) - num(totals.distinct_jobs));
  if (num(check.schedules) > v.schedules) throw new Error(`runs of ${num(check.schedules)} schedules`);

  const mb = (bytes: number) => bytes / 2 ** 20;
  const reads = done.reads.filter((r) => r.due > 0);
  const calls = done.fireCalls.filter((c) => c.runs > 0);
  /** Per 500 runs of a call (calls carry ~500, more while catching up). */
  const per500 = (ms: number, runs: number) => (ms * 500) / runs;
  const busyMs = done.busyMs;
  const k = v.key;
  const who = `${count(v.schedules)} x ${v.label}`;
  const metrics: Metric[] = [
    {
      key: `${k}.lag.p50`,
      label: `${who}, ${v.seconds} s: fire lag (job created - due) p50`,
      value: histPercentile(lag, 50),
      unit: 'ms',
    },
    {
      key: `${k}.lag.p99`,
      label: 'fire lag p99',
      value: histPercentile(lag, 99),
      unit: 'ms',
      target: { op: '<=', value: 1000 },
    },
    { key: `${k}.lag.max`, label: 'fire lag max', value: histPercentile(lag, 100), unit: 'ms' },
    {
      key: `${k}.commit.p99`,
      label: 'committed (fireSchedules returned) - due, p99',
      value: histPercentile(done.commitLag, 99),
      unit: 'ms',
    },
    {
      key: `${k}.rate`,
      label: `jobs created per second of the window (due: ${count(v.schedules)}/s)`,
      value: num(totals.created_in_window) / v.seconds,
      unit: 'jobs/s',
    },
    {
      key: `${k}.capacity`,
      label: 'runs created per second the coordinator was busy firing',
      value: (done.createdAll * 1000) / busyMs,
      unit: 'jobs/s',
    },
    {
      key: `${k}.backlog`,
      label: 'fire times of the window not yet fired when stopped (in the lag figures as lower bounds)',
      value: backlog,
      unit: 'count',
    },
    {
      key: `${k}.missed`,
      label: `fire times missed (of ${count(expected)})`,
      value: missed,
      unit: 'count',
      target: { op: '<=', value: 0 },
    },
    {
      key: `${k}.doubled`,
      label: 'fire times doubled',
      value: doubled,
      unit: 'count',
      target: { op: '<=', value: 0 },
    },
    {
      key: `${k}.rss`,
      label: 'coordinator process peak RSS (tsx)',
      value: mb(done.rssPeak),
      unit: 'MB',
      target: { op: '<=', value: 200 },
    },
    { key: `${k}.rss.idle`, label: 'coordinator RSS before t0', value: mb(done.idleRss), unit: 'MB' },
    {
      key: `${k}.rss.heap`,
      label: 'at the peak: V8 heap total',
      value: mb(done.atPeak?.heapTotal ?? Number.NaN),
      unit: 'MB',
    },
    {
      key: `${k}.rss.heapUsed`,
      label: 'at the peak: V8 heap used',
      value: mb(done.atPeak?.heapUsed ?? Number.NaN),
      unit: 'MB',
    },
    {
      key: `${k}.heap`,
      label: 'coordinator heap used after the stop and a full GC',
      value: mb(heapAfter),
      unit: 'MB',
    },
    {
      key: `${k}.cpu`,
      label: 'coordinator CPU, share of one core over the window',
      value: done.cpuMs / done.wallMs,
      unit: 'x',
    },
    {
      key: `${k}.cpu.per1000`,
      label: 'coordinator CPU per 1,000 runs',
      value: (done.cpuMs * 1000) / done.createdAll,
      unit: 'ms',
    },
    {
      key: `${k}.machine`,
      label: `whole machine busy over the window, cores (of ${cpus().length})`,
      value:
        cpu0 && cpu1 ? ((cpu1.busy - cpu0.busy) / (cpu1.total - cpu0.total)) * cpus().length : Number.NaN,
      unit: 'x',
    },
    {
      key: `${k}.batch.due`,
      label: `per read of ${median(reads.map((r) => r.due))} schedules: dueSchedules p50`,
      value: median(reads.map((r) => r.dueMs)),
      unit: 'ms',
    },
    {
      key: `${k}.batch.plan`,
      label: `per 500 runs of a fireSchedules call (${median(calls.map((c) => c.runs))} runs p50): plan + render (src/schedule) p50`,
      value: median(calls.map((c) => per500(c.planMs, c.runs))),
      unit: 'ms',
    },
    {
      key: `${k}.batch.fire`,
      label: 'per 500 runs: fireSchedules p50 (two calls may overlap)',
      value: median(calls.map((c) => per500(c.fireMs, c.runs))),
      unit: 'ms',
    },
    {
      key: `${k}.create`,
      label: `creating the schedules (store.insertSchedule, ${concurrency} at once)`,
      value: perSecond,
      unit: 'schedules/s',
    },
  ];
  const callList = Object.entries(done.calls)
    .sort((a, b) => b[1].ms - a[1].ms)
    .map(([name, c]) => `${name} ${c.n}x ${c.ms.toFixed(0)}ms`)
    .join(', ');
  console.error(
    `    ${sql.label} ${k}: ${done.timedOut ? 'TIMED OUT, ' : ''}${done.errors} coordinator errors; store calls: ${callList}`,
  );
  return metrics;
}

async function onSqlite(ctx: ScenarioContext, v: Variant): Promise<Metric[]> {
  const sql = await sqliteSql(ctx);
  try {
    return await runSchedules(sql, v, 1);
  } finally {
    await sql.close();
  }
}

async function onPostgres(v: Variant): Promise<Metric[]> {
  const sql = await postgresSql();
  try {
    return await runSchedules(sql, v, PG_CREATE_CONCURRENCY);
  } finally {
    await sql.close();
    await sql.drop();
  }
}

export const schedulesSqlite = (ctx: ScenarioContext) => onSqlite(ctx, INTERVAL);
export const schedulesCronSqlite = (ctx: ScenarioContext) => onSqlite(ctx, CRON);
export const schedulesPostgres = (_ctx: ScenarioContext) => onPostgres(INTERVAL);
export const schedulesCronPostgres = (_ctx: ScenarioContext) => onPostgres(CRON);
