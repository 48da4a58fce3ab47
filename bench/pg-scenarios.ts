/**
 * The `--store postgres` scenarios: stint against graphile-worker and pg-boss on the same
 * PostgreSQL, in the same run, so the ratios compare like with like. Every system gets a fresh
 * schema per run, dropped (CASCADE) afterwards even if the run failed. Workers run in their own
 * processes (bench/pg-worker-process.ts). Ratios are stint / graphile-worker within one run.
 */
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import {
  count,
  endChild,
  forkTs,
  type Metric,
  nextMessage,
  percentile,
  rate,
  SCENARIO_DEADLINE_MS,
  sleep,
  wallNow,
} from './lib.js';
import {
  countDone,
  countPending,
  dropSchema,
  type Enqueuer,
  freshSchema,
  openEnqueuer,
  PG_URL,
  SYSTEMS,
  type SystemName,
  withPg,
} from './pg-systems.js';

const LABEL: Record<SystemName, string> = { stint: 'stint', graphile: 'graphile-worker', pgboss: 'pg-boss' };

const is = (type: string) => (m: unknown) => ((m as { type?: string }).type === type ? true : undefined);

/** Runs `fn` with a fresh schema and an open enqueuer for `system`, then drops the schema. */
async function withSystem<T>(
  system: SystemName,
  fn: (schema: string, enqueuer: Enqueuer) => Promise<T>,
): Promise<T> {
  const schema = freshSchema(system);
  try {
    const enqueuer = await openEnqueuer(system, schema);
    try {
      return await fn(schema, enqueuer);
    } finally {
      await enqueuer.close();
    }
  } finally {
    await dropSchema(schema);
  }
}

function forkWorker(system: SystemName, schema: string, mode: string, concurrency: number, batch: number) {
  // BENCH_WORKER_FLAGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the worker processes.
  const flags = process.env.BENCH_WORKER_FLAGS?.split(' ').filter(Boolean) ?? [];
  return forkTs('pg-worker-process.ts', [system, schema, mode, String(concurrency), String(batch)], flags);
}

/** Stops the workers; returns the CPU ms they used in all (NaN if one did not say). */
async function stopWorkers(children: ChildProcess[]): Promise<number> {
  const cpu = await Promise.all(
    children.map(async (child) => {
      let ms = Number.NaN;
      if (child.connected) {
        child.send({ type: 'stop' });
        const m = await nextMessage(
          child,
          (m) => ((m as { type?: string }).type === 'stopped' ? (m as { cpuMs: number }) : undefined),
          10_000,
          'a worker to stop',
        ).catch(() => undefined);
        ms = m?.cpuMs ?? Number.NaN;
      }
      await endChild(child);
      return ms;
    }),
  );
  return cpu.reduce((a, b) => a + b, 0);
}

/**
 * CPU time (user + system, ms) used so far by every process named `postgres` this user can see in
 * /proc (the local server and its backends); NaN where /proc is missing. A backend that exits
 * between two readings takes its time with it, so read both while the workers are connected.
 */
function postgresCpuMs(): number {
  let ticks = 0;
  try {
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const close = stat.lastIndexOf(')');
        if (stat.slice(stat.indexOf('(') + 1, close) !== 'postgres') continue;
        const fields = stat.slice(close + 2).split(' ');
        ticks += Number(fields[11]) + Number(fields[12]);
      } catch {
        // The process ended while we looked.
      }
    }
  } catch {
    return Number.NaN;
  }
  return ticks * 10; // USER_HZ is 100 on Linux.
}

/** Transactions committed in the database so far (pg_stat_database; flushed within ~1 s). */
async function commitsSoFar(): Promise<number> {
  return withPg(async (c) => {
    const r = await c.query(
      'SELECT xact_commit::float8 AS n FROM pg_stat_database WHERE datname = current_database()',
    );
    return r.rows[0].n as number;
  });
}

/** Whether this run measures both systems a ratio compares (BENCH_PG_SYSTEMS may leave one out). */
const comparing = SYSTEMS.includes('stint') && SYSTEMS.includes('graphile');

/** stint ÷ graphile-worker in this run; nothing when BENCH_PG_SYSTEMS left either out. */
const ratioMetric = (
  key: string,
  label: string,
  values: Record<SystemName, number>,
  target: number,
): Metric[] =>
  comparing
    ? [{ key, label, value: values.stint / values.graphile, unit: 'x', target: { op: '>=', value: target } }]
    : [];

// ---------------------------------------------------------------------------------------------
// pg-bare: the floor under every system.

const BARE_OPS = 2000;

export async function pgBare(): Promise<Metric[]> {
  const schema = freshSchema('stint').replace('stint', 'bare');
  try {
    return await withPg(async (c) => {
      await c.query(`CREATE SCHEMA "${schema}"`);
      await c.query(
        `CREATE TABLE "${schema}".t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, payload json)`,
      );
      for (let i = 0; i < 200; i++) await c.query('SELECT 1');
      const select: number[] = [];
      for (let i = 0; i < BARE_OPS; i++) {
        const t0 = performance.now();
        await c.query('SELECT 1');
        select.push(performance.now() - t0);
      }
      const insert: number[] = [];
      const sql = `INSERT INTO "${schema}".t (payload) VALUES ($1) RETURNING id`;
      for (let i = 0; i < 200; i++) await c.query(sql, ['{}']);
      for (let i = 0; i < BARE_OPS; i++) {
        const t0 = performance.now();
        await c.query(sql, ['{}']);
        insert.push(performance.now() - t0);
      }
      // An explicit BEGIN / INSERT / COMMIT: three round trips, as a store that opens a transaction pays.
      const tx: number[] = [];
      for (let i = 0; i < BARE_OPS; i++) {
        const t0 = performance.now();
        await c.query('BEGIN');
        await c.query(sql, ['{}']);
        await c.query('COMMIT');
        tx.push(performance.now() - t0);
      }
      const med = (v: number[]) => percentile(v, 50);
      const wake = await bareWakeChain(c, schema);
      return [
        { key: 'pg-bare.select', label: 'SELECT 1 round trip, p50', value: med(select), unit: 'ms' },
        {
          key: 'pg-bare.insert',
          label: 'single-row INSERT, autocommit, p50',
          value: med(insert),
          unit: 'ms',
        },
        {
          key: 'pg-bare.insert-rate',
          label: `sequential autocommit INSERTs (${count(BARE_OPS)})`,
          value: (BARE_OPS * 1000) / insert.reduce((a, b) => a + b, 0),
          unit: 'jobs/s',
        },
        { key: 'pg-bare.tx', label: 'BEGIN + INSERT + COMMIT, p50', value: med(tx), unit: 'ms' },
        {
          key: 'pg-bare.wake',
          label: `submit -> claimed, ${LAT_GAP_MS} ms apart: INSERT + NOTIFY, LISTEN, UPDATE claim; p50`,
          value: med(wake.total),
          unit: 'ms',
        },
        { key: 'pg-bare.wake.p99', label: 'the same, p99', value: percentile(wake.total, 99), unit: 'ms' },
        {
          key: 'pg-bare.wake.notify',
          label: 'the same, INSERT start -> NOTIFY received, p50',
          value: med(wake.notify),
          unit: 'ms',
        },
      ] satisfies Metric[];
    });
  } finally {
    await dropSchema(schema);
  }
}

/**
 * The latency floor of a queue on PostgreSQL, with nothing but node-postgres: one connection
 * inserts a row and NOTIFYs in the same statement (a committed, flushed insert), a second LISTENs,
 * and on the notification a third claims the row with a one-statement UPDATE (also flushed), one
 * job every LAT_GAP_MS as in pg-latency, so the database and the processes idle in between.
 */
async function bareWakeChain(c: pg.Client, schema: string): Promise<{ total: number[]; notify: number[] }> {
  await c.query(`CREATE TABLE "${schema}".q (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    state text NOT NULL DEFAULT 'pending', payload json)`);
  await c.query(`CREATE INDEX ON "${schema}".q (id) WHERE state = 'pending'`);
  const connect = async () => {
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    return client;
  };
  const listener = await connect();
  const claimer = await connect();
  const channel = `${schema}.q`;
  try {
    await listener.query(`LISTEN "${channel}"`);
    const insert = `WITH i AS (INSERT INTO "${schema}".q (payload) VALUES ($1) RETURNING id)
      SELECT pg_notify('${channel}', id::text) FROM i`;
    const claim = `UPDATE "${schema}".q SET state = 'running' WHERE id = ANY(ARRAY(
      SELECT id FROM "${schema}".q WHERE state = 'pending' ORDER BY id LIMIT 10 FOR UPDATE SKIP LOCKED))
      RETURNING id, payload`;
    const total: number[] = [];
    const notify: number[] = [];
    for (let i = 0; i < LAT_WARMUP + LAT_SAMPLES; i++) {
      await sleep(LAT_GAP_MS);
      const t0 = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const heard = new Promise<number>((resolve, reject) => {
        listener.once('notification', () => resolve(performance.now()));
        timer = setTimeout(() => reject(new Error('pg-bare: a NOTIFY did not arrive within 5 s')), 5000);
      }).finally(() => clearTimeout(timer));
      await c.query(insert, ['{}']);
      const tn = await heard;
      const claimed = await claimer.query(claim);
      if (claimed.rowCount !== 1) throw new Error(`pg-bare: claimed ${claimed.rowCount} rows, expected 1`);
      if (i < LAT_WARMUP) continue;
      total.push(performance.now() - t0);
      notify.push(tn - t0);
    }
    return { total, notify };
  } finally {
    await listener.end();
    await claimer.end();
  }
}

// ---------------------------------------------------------------------------------------------
// pg-drain / pg-drain2: 20,000 pre-enqueued no-op jobs, 1 or 2 worker processes at concurrency 10.

export const PG_DRAIN_JOBS = 20_000;
const PG_DRAIN_CONCURRENCY = 10;
const PGBOSS_BATCH = 10;

/**
 * Enqueues the jobs, starts `processes` workers, and times from the first handler call in any
 * worker to the moment the table shows all jobs finished (checked every 5 ms once the workers
 * have reported all but the last <500 handler calls each). Startup (connecting, migration checks) is not timed.
 */
interface DrainFigures {
  rate: number;
  /** Database transactions committed per job during the drain (all connections). */
  commitsPerJob: number;
  /** Worker-process CPU (user + system) per 1,000 jobs, from each one's first handler call to its stop. */
  cpuMsPer1000: number;
  /** Local PostgreSQL server CPU per 1,000 jobs, from the first reading to the last commit. */
  serverMsPer1000: number;
}

async function drainOnce(system: SystemName, processes: number): Promise<DrainFigures> {
  return withSystem(system, async (schema, enqueuer) => {
    const inputs = Array.from({ length: 1000 }, () => ({}));
    for (let done = 0; done < PG_DRAIN_JOBS; done += 1000) await enqueuer.bulk(inputs);
    await sleep(1100);
    const commits0 = await commitsSoFar();
    const server0 = postgresCpuMs();
    const children = Array.from({ length: processes }, () =>
      forkWorker(system, schema, 'drain', PG_DRAIN_CONCURRENCY, PGBOSS_BATCH),
    );
    try {
      await Promise.all(children.map((c) => nextMessage(c, is('ready'), 20_000, 'a worker to load')));
      let first = Number.POSITIVE_INFINITY;
      let cpuAtFirst = 0;
      let handled = 0;
      let wake: () => void = () => {};
      for (const child of children) {
        child.on('message', (m: { type?: string; at?: number; n?: number; cpuMs?: number }) => {
          if (m.type === 'first') {
            first = Math.min(first, m.at as number);
            cpuAtFirst += m.cpuMs as number;
          } else if (m.type === 'progress') {
            handled += m.n as number;
            // Each process reports per 500, so up to 499 per process are still unreported.
            if (handled + 500 * processes > PG_DRAIN_JOBS) wake();
          }
        });
      }
      const allHandled = new Promise<void>((resolve) => {
        wake = resolve;
      });
      for (const child of children) child.send({ type: 'start' });
      await nextMessage(
        children[0] as ChildProcess,
        (m) => ((m as { type?: string }).type === 'running' ? true : undefined),
        20_000,
        'a worker to start',
      ).catch(() => {});
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        allHandled,
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`${LABEL[system]}: ${handled} of ${PG_DRAIN_JOBS} handled in time`)),
            SCENARIO_DEADLINE_MS,
          );
        }),
      ]).finally(() => clearTimeout(timer));
      const end = await withPg(async (c) => {
        const deadline = performance.now() + 10_000;
        while (performance.now() < deadline) {
          if ((await countDone(c, system, schema, PG_DRAIN_JOBS)) >= PG_DRAIN_JOBS) return wallNow();
          await sleep(5);
        }
        throw new Error(`${LABEL[system]}: completions not committed within 10 s of the last handler call`);
      });
      const serverMs = postgresCpuMs() - server0;
      const cpuMs = await stopWorkers(children);
      await sleep(1100);
      const commits = (await commitsSoFar()) - commits0;
      return {
        rate: rate(PG_DRAIN_JOBS, end - first),
        commitsPerJob: commits / PG_DRAIN_JOBS,
        cpuMsPer1000: ((cpuMs - cpuAtFirst) * 1000) / PG_DRAIN_JOBS,
        serverMsPer1000: (serverMs * 1000) / PG_DRAIN_JOBS,
      };
    } finally {
      await stopWorkers(children);
    }
  });
}

async function drainScenario(processes: number): Promise<Metric[]> {
  const key = processes === 1 ? 'pg-drain' : 'pg-drain2';
  const values = {} as Record<SystemName, number>;
  const figures = {} as Record<SystemName, DrainFigures>;
  for (const system of SYSTEMS) {
    figures[system] = await drainOnce(system, processes);
    values[system] = figures[system].rate;
  }
  const what = `drain ${count(PG_DRAIN_JOBS)}, ${processes} worker process${processes > 1 ? 'es' : ''} x concurrency ${PG_DRAIN_CONCURRENCY}`;
  return [
    ...SYSTEMS.map(
      (s): Metric => ({
        key: `${key}.${s}`,
        label: `${LABEL[s]}: ${what}${s === 'pgboss' ? ` (batchSize ${PGBOSS_BATCH})` : ''}`,
        value: values[s],
        unit: 'jobs/s',
      }),
    ),
    ...ratioMetric(`${key}.ratio`, 'stint / graphile-worker (same run)', values, 3),
    ...SYSTEMS.map(
      (s): Metric => ({
        key: `${key}.commits.${s}`,
        label: `${LABEL[s]}: transactions committed per job (pg_stat_database)`,
        value: figures[s].commitsPerJob,
        unit: 'x',
      }),
    ),
    ...SYSTEMS.map(
      (s): Metric => ({
        key: `${key}.cpu.${s}`,
        label: `${LABEL[s]}: worker CPU ms per 1,000 jobs (startup not counted)`,
        value: figures[s].cpuMsPer1000,
        unit: 'ms',
      }),
    ),
    ...SYSTEMS.map(
      (s): Metric => ({
        key: `${key}.server.${s}`,
        label: `${LABEL[s]}: PostgreSQL server CPU ms per 1,000 jobs (/proc)`,
        value: figures[s].serverMsPer1000,
        unit: 'ms',
      }),
    ),
  ];
}

export const pgDrain = () => drainScenario(1);
export const pgDrain2 = () => drainScenario(2);

// ---------------------------------------------------------------------------------------------
// pg-enqueue: bulk 50,000 (1,000 per call) and 10,000 sequential single submits, no worker.

const BULK_JOBS = 50_000;
const SINGLE_JOBS = 10_000;

export async function pgEnqueue(): Promise<Metric[]> {
  const bulk = {} as Record<SystemName, number>;
  const single = {} as Record<SystemName, number>;
  for (const system of SYSTEMS) {
    await withSystem(system, async (schema, enqueuer) => {
      const deadline = performance.now() + SCENARIO_DEADLINE_MS;
      const inputs = Array.from({ length: 1000 }, () => ({}));
      // One untimed call of each kind: connections and prepared plans are warm.
      await enqueuer.bulk([{}]);
      await enqueuer.single({});
      const t0 = performance.now();
      for (let done = 0; done < BULK_JOBS; done += 1000) {
        if (performance.now() > deadline) throw new Error(`${LABEL[system]}: bulk enqueue overran`);
        await enqueuer.bulk(inputs);
      }
      bulk[system] = rate(BULK_JOBS, performance.now() - t0);
      const stored = await withPg((c) => countPending(c, system, schema));
      if (stored !== BULK_JOBS + 2)
        throw new Error(`${LABEL[system]}: ${stored} of ${BULK_JOBS + 2} jobs stored`);
    });
    // Single submits into a fresh schema, so the 50,000 bulk rows do not weigh on them.
    await withSystem(system, async (schema, enqueuer) => {
      await enqueuer.single({});
      const deadline = performance.now() + SCENARIO_DEADLINE_MS;
      const t0 = performance.now();
      // A slow system is cut off at the deadline; its rate is then over the jobs it did submit.
      let singles = 0;
      while (singles < SINGLE_JOBS && performance.now() < deadline) {
        await enqueuer.single({});
        singles++;
      }
      single[system] = rate(singles, performance.now() - t0);
      if (singles < SINGLE_JOBS)
        console.error(`    ${LABEL[system]}: only ${singles} single submits in time`);
      console.error(
        `    ${LABEL[system]}: bulk ${bulk[system].toFixed(0)}/s, single ${single[system].toFixed(0)}/s`,
      );
      const stored = await withPg((c) => countPending(c, system, schema));
      const expected = singles + 1;
      if (stored !== expected) throw new Error(`${LABEL[system]}: ${stored} of ${expected} jobs stored`);
    });
  }
  return [
    ...SYSTEMS.map(
      (s): Metric => ({
        key: `pg-enqueue.bulk.${s}`,
        label: `${LABEL[s]}: bulk ${count(BULK_JOBS)}, 1,000 per call`,
        value: bulk[s],
        unit: 'jobs/s',
      }),
    ),
    ...ratioMetric('pg-enqueue.bulk.ratio', 'bulk: stint / graphile-worker (same run)', bulk, 2),
    ...SYSTEMS.map(
      (s): Metric => ({
        key: `pg-enqueue.single.${s}`,
        label: `${LABEL[s]}: ${count(SINGLE_JOBS)} sequential single submits`,
        value: single[s],
        unit: 'jobs/s',
      }),
    ),
    ...ratioMetric('pg-enqueue.single.ratio', 'single: stint / graphile-worker (same run)', single, 2),
  ];
}

// ---------------------------------------------------------------------------------------------
// pg-latency: submit -> handler start at ~100 jobs/s, idle worker in another process.

const LAT_WARMUP = 50;
const LAT_SAMPLES = 500;
const LAT_GAP_MS = 10;
/** After the last submit, a job that has not started within this long is counted as lost. */
const LAT_LOST_MS = 10_000;

/** How long each submit call of the last latencyOnce took (until its promise resolved). */
const submitMs: number[] = [];

async function latencyOnce(system: SystemName): Promise<number[]> {
  return withSystem(system, async (schema, enqueuer) => {
    const child = forkWorker(system, schema, 'latency', 10, 1);
    try {
      await nextMessage(child, is('ready'), 20_000, 'the worker to load');
      child.send({ type: 'start' });
      await nextMessage(child, is('running'), 20_000, 'the worker to start');
      await sleep(200);
      const latencies: number[] = [];
      const total = LAT_WARMUP + LAT_SAMPLES;
      submitMs.length = 0;
      let wake: () => void = () => {};
      const all = new Promise<void>((resolve) => {
        wake = resolve;
      });
      child.on('message', (m: { type?: string; latency?: number }) => {
        if (m.type !== 'started') return;
        latencies.push(m.latency as number);
        if (latencies.length >= total) wake();
      });
      // Open loop: one submit every 10 ms whatever the worker does; the submit time rides in the input.
      const t0 = performance.now();
      const pending: Promise<void>[] = [];
      for (let i = 0; i < total; i++) {
        const wait = t0 + i * LAT_GAP_MS - performance.now();
        if (wait > 0) await sleep(wait);
        const t = wallNow();
        pending.push(enqueuer.single({ t }).then(() => void submitMs.push(wallNow() - t)));
      }
      await Promise.all(pending);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([all, new Promise((resolve) => (timer = setTimeout(resolve, LAT_LOST_MS)))]).finally(
        () => clearTimeout(timer),
      );
      const lost = total - latencies.length;
      // A lost stint job is a bug; a peer's lost jobs are its figures (counted, and infinitely late).
      if (system === 'stint' && lost > total / 100)
        throw new Error(`${LABEL[system]}: ${lost} of ${total} jobs not started in time`);
      // Drop the warm-up (handler start order is submit order closely enough for a warm-up cut);
      // a job that never started within LAT_LOST_MS counts as infinitely late.
      return [
        ...latencies.slice(LAT_WARMUP),
        ...Array.from({ length: lost }, () => Number.POSITIVE_INFINITY),
      ];
    } finally {
      await stopWorkers([child]);
    }
  });
}

export async function pgLatency(): Promise<Metric[]> {
  const out: Metric[] = [];
  const p = {} as Record<SystemName, { p50: number; p99: number }>;
  for (const system of SYSTEMS) {
    const l = await latencyOnce(system);
    p[system] = { p50: percentile(l, 50), p99: percentile(l, 99) };
    const lost = l.filter((v) => v === Number.POSITIVE_INFINITY).length;
    console.error(
      `    ${LABEL[system]}: p50 ${p[system].p50.toFixed(2)} p99 ${p[system].p99.toFixed(2)} lost ${lost}`,
    );
    const note = system === 'pgboss' ? ' (queue notify + useListenNotify)' : '';
    out.push(
      {
        key: `pg-latency.${system}.p50`,
        label: `${LABEL[system]}: p50${note}`,
        value: p[system].p50,
        unit: 'ms',
        ...(system === 'stint' ? { target: { op: '<=' as const, value: 2.5 } } : {}),
      },
      {
        key: `pg-latency.${system}.p95`,
        label: `${LABEL[system]}: p95`,
        value: percentile(l, 95),
        unit: 'ms',
      },
      { key: `pg-latency.${system}.p99`, label: `${LABEL[system]}: p99`, value: p[system].p99, unit: 'ms' },
      {
        key: `pg-latency.${system}.submit`,
        label: `${LABEL[system]}: the submit call itself, p50`,
        value: percentile(submitMs.slice(LAT_WARMUP), 50),
        unit: 'ms',
      },
      {
        key: `pg-latency.${system}.lost`,
        label: `${LABEL[system]}: jobs not started within ${LAT_LOST_MS / 1000} s of the last submit`,
        value: lost,
        unit: 'count',
      },
    );
  }
  if (!comparing) return out;
  out.push(
    {
      key: 'pg-latency.ratio.p50',
      label: 'p50: graphile-worker / stint (same run; > 1: stint faster)',
      value: p.graphile.p50 / p.stint.p50,
      unit: 'x',
      target: { op: '>=', value: 1 },
    },
    {
      key: 'pg-latency.ratio.p99',
      label: 'p99: graphile-worker / stint (same run; > 1: stint faster)',
      value: p.graphile.p99 / p.stint.p99,
      unit: 'x',
      target: { op: '>=', value: 1 },
    },
  );
  return out;
}
