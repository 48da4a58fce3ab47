/**
 * Flow scenarios, on SQLite (default) or PostgreSQL (`--store postgres`). The worker runs in the
 * scenario's process, with its own store on the same database as the submitting client.
 *
 * - `flow-latency`: 10-step linear flows of no-op steps, each step's input a reference to the
 *   previous step's output, run one flow after another (3 warm-up + 30 measured, bounded in
 *   time). Per hop (9 per flow): from the previous step's job `finishedAt` (set in the completion
 *   transaction that also creates the next step's job) to the next step's handler start
 *   (`Date.now()` in the handler; both whole milliseconds). Also from the previous handler's
 *   return to the next handler's start (sub-ms wall clock), which adds the completion batching.
 * - `flow-fanout`: one flow: a map over 10,000 items (from the flow's store) of a no-op task, then
 *   one fan-in step receiving the 10,000 outputs. Steps/s = 10,000 / (submit called -> result()
 *   returned). The map's concurrency cap and the worker's concurrency are fixed below (chosen by
 *   trying several; see README "Flows") and can be overridden with BENCH_FLOW_MAP_CAP (a number or
 *   "none") and BENCH_FLOW_CONCURRENCY.
 */
import { join } from 'node:path';
import { z } from 'zod';
import {
  createClient,
  createFlow,
  createPostgresStore,
  createSqliteStore,
  createWorker,
  defineTask,
  type Store,
} from '../src/index.js';
import {
  count,
  type Metric,
  percentile,
  quietLogger,
  rate,
  SCENARIO_DEADLINE_MS,
  type ScenarioContext,
  sleep,
  wallNow,
  withDeadline,
} from './lib.js';

const HOPS_STEPS = 10;
const LATENCY_FLOWS = 30;
const LATENCY_WARMUP = 3;
const LATENCY_CONCURRENCY = 10;

const FANOUT_ITEMS = 10_000;
/** Items running at once (the map's `concurrency`); null: no cap. */
const FANOUT_MAP_CAP: number | null = envCap(process.env.BENCH_FLOW_MAP_CAP, null);
const FANOUT_CONCURRENCY = Number(process.env.BENCH_FLOW_CONCURRENCY ?? 100);
/** The fan-out's wait on PostgreSQL; its scenario entry gives the run 170 s. */
export const PG_FANOUT_DEADLINE_MS = 150_000;

function envCap(value: string | undefined, fallback: number | null): number | null {
  if (value === undefined) return fallback;
  return value === 'none' ? null : Number(value);
}

/** A database for one run: a SQLite file in the run's directory, or a fresh PostgreSQL schema. */
interface Db {
  label: string;
  /** A new store on it (the client and the worker each get one). */
  open(): Store;
  drop(): Promise<void>;
}

async function openDb(ctx: ScenarioContext, name: string, kind: 'sqlite' | 'postgres'): Promise<Db> {
  if (kind === 'sqlite') {
    const path = join(ctx.dir, `${name}.db`);
    return { label: 'SQLite', open: () => createSqliteStore({ path }), drop: async () => {} };
  }
  const { PG_URL, dropSchema, freshSchema } = await import('./pg-systems.js');
  const schema = freshSchema('stint');
  return {
    label: 'PostgreSQL',
    open: () => createPostgresStore({ connectionString: PG_URL, schema }),
    drop: () => dropSchema(schema),
  };
}

/** Runs `fn` with a client and an in-process worker on a fresh database; closes everything after. */
async function withStint<T>(
  ctx: ScenarioContext,
  name: string,
  kind: 'sqlite' | 'postgres',
  tasks: Parameters<typeof createWorker>[0]['tasks'],
  concurrency: number,
  fn: (client: ReturnType<typeof createClient>) => Promise<T>,
): Promise<T> {
  const db = await openDb(ctx, name, kind);
  try {
    if (kind === 'postgres') return await onPostgres(db, tasks, concurrency, fn);
    return await run(db, tasks, concurrency, fn);
  } finally {
    await db.drop();
  }
}

async function run<T>(
  db: Db,
  tasks: Parameters<typeof createWorker>[0]['tasks'],
  concurrency: number,
  fn: (client: ReturnType<typeof createClient>) => Promise<T>,
): Promise<T> {
  // The client's store first: it migrates the database before the worker's store opens.
  const clientStore = db.open();
  const client = createClient({ store: clientStore, tasks });
  await client.listFlows({ limit: 1 });
  const workerStore = db.open();
  const worker = createWorker({ store: workerStore, tasks, concurrency, logger: quietLogger });
  try {
    await worker.start();
    return await fn(client);
  } finally {
    await worker.stop({ timeout: '5s' }).catch(() => {});
    await workerStore.close();
    await client.close();
    await clientStore.close();
  }
}

/** The PostgreSQL store's flow support is new: a failure there says so, with the store's error. */
async function onPostgres<T>(...args: Parameters<typeof run<T>>): Promise<T> {
  try {
    return await run(...args);
  } catch (err) {
    throw new Error(
      `flows on PostgreSQL failed (its flow support is still being finished; treat as skipped): ${(err as Error).message}`,
      { cause: err },
    );
  }
}

// ---------------------------------------------------------------------------------------------
// flow-latency

interface HandlerTimes {
  /** Date.now() at handler start (whole ms, comparable with the job's finishedAt). */
  startMs: number;
  /** Wall clock, sub-ms, at handler start and just before it returns. */
  start: number;
  end: number;
}

function latencyFlow(task: ReturnType<typeof hopTask>) {
  const f = createFlow('bench-hops');
  let prev = f.step(task, { n: 0 }, { name: 's0' });
  for (let i = 1; i < HOPS_STEPS; i++) prev = f.step(task, { n: prev.output.n }, { name: `s${i}` });
  return f;
}

function hopTask(times: Map<string, HandlerTimes>) {
  return defineTask({
    name: 'hop',
    input: z.object({ n: z.number() }),
    output: z.object({ n: z.number() }),
    run: (ctx, { n }) => {
      const startMs = Date.now();
      const start = wallNow();
      times.set(ctx.jobId, { startMs, start, end: wallNow() });
      return { n: n + 1 };
    },
  });
}

async function flowLatency(ctx: ScenarioContext, kind: 'sqlite' | 'postgres'): Promise<Metric[]> {
  const times = new Map<string, HandlerTimes>();
  const task = hopTask(times);
  const fromFinished: number[] = [];
  const fromReturn: number[] = [];
  const claimToStart: number[] = [];
  const flowMs: number[] = [];
  const deadline = performance.now() + SCENARIO_DEADLINE_MS * 0.8;
  let measured = 0;
  await withStint(ctx, 'flow-latency', kind, [task], LATENCY_CONCURRENCY, async (client) => {
    for (let i = 0; i < LATENCY_WARMUP + LATENCY_FLOWS && performance.now() < deadline; i++) {
      const t0 = performance.now();
      const handle = await client.submitFlow(latencyFlow(task));
      const out = (await handle.result({ timeout: '20s' })) as Record<string, { n: number }>;
      const t1 = performance.now();
      if (out[`s${HOPS_STEPS - 1}`]?.n !== HOPS_STEPS) throw new Error(`flow ${handle.id}: wrong output`);
      if (i < LATENCY_WARMUP) continue;
      flowMs.push(t1 - t0);
      const { steps } = await handle.status();
      const jobs = [];
      for (let s = 0; s < HOPS_STEPS; s++) {
        const step = steps.find((x) => x.name === `s${s}`);
        if (!step?.jobId) throw new Error(`flow ${handle.id}: step s${s} has no job`);
        jobs.push({ job: await client.get(step.jobId), times: times.get(step.jobId) });
      }
      for (let s = 1; s < HOPS_STEPS; s++) {
        const prev = jobs[s - 1];
        const next = jobs[s];
        if (!prev?.times || !next?.times || prev.job.finishedAt === null || next.job.startedAt === null)
          throw new Error(`flow ${handle.id}: step s${s} lacks times`);
        fromFinished.push(next.times.startMs - prev.job.finishedAt);
        fromReturn.push(next.times.start - prev.times.end);
        claimToStart.push(next.times.startMs - next.job.startedAt);
      }
      measured++;
    }
  });
  if (measured < 5) throw new Error(`only ${measured} flows finished in time`);
  const p = (values: number[], q: number) => percentile(values, q);
  const where = kind === 'postgres' ? 'PostgreSQL' : 'SQLite';
  return [
    {
      key: 'flow-latency.finished.p50',
      label: `${HOPS_STEPS}-step chain, ${measured} flows: prev finishedAt -> next handler start, p50 (${measured * (HOPS_STEPS - 1)} hops)`,
      value: p(fromFinished, 50),
      unit: 'ms',
      target: kind === 'sqlite' ? { op: '<=', value: 5 } : undefined,
    },
    { key: 'flow-latency.finished.p99', label: 'same, p99', value: p(fromFinished, 99), unit: 'ms' },
    {
      key: 'flow-latency.return.p50',
      label: 'prev handler return -> next handler start (sub-ms clock), p50',
      value: p(fromReturn, 50),
      unit: 'ms',
    },
    { key: 'flow-latency.return.p99', label: 'same, p99', value: p(fromReturn, 99), unit: 'ms' },
    {
      key: 'flow-latency.claim',
      label: 'next job startedAt (claim) -> its handler start, p50',
      value: p(claimToStart, 50),
      unit: 'ms',
    },
    {
      key: 'flow-latency.flow',
      label: `whole flow, submitFlow -> result(), p50 (${where})`,
      value: p(flowMs, 50),
      unit: 'ms',
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// flow-fanout

function fanoutTasks() {
  const item = defineTask({
    name: 'item',
    input: z.unknown(),
    run: (_ctx, input) => (input as { i: number }).i,
  });
  const fanIn = defineTask({
    name: 'fanIn',
    input: z.object({ outputs: z.array(z.unknown()) }),
    run: (_ctx, { outputs }) => ({ count: outputs.length }),
  });
  return { item, fanIn };
}

async function flowFanout(ctx: ScenarioContext, kind: 'sqlite' | 'postgres'): Promise<Metric[]> {
  const { item, fanIn } = fanoutTasks();
  const items = Array.from({ length: FANOUT_ITEMS }, (_, i) => i);
  const f = createFlow<{ items: number[] }>('bench-fanout');
  const m = f.map(item, f.store.items, (i) => ({ i }), {
    name: 'items',
    ...(FANOUT_MAP_CAP === null ? {} : { concurrency: FANOUT_MAP_CAP }),
  });
  f.step(fanIn, { outputs: m.output }, { name: 'fanIn' });
  // PostgreSQL takes tens of seconds here (see README "Flows"); its scenario's limitMs allows it.
  const deadlineMs = kind === 'postgres' ? PG_FANOUT_DEADLINE_MS : SCENARIO_DEADLINE_MS;
  const r = await withStint(ctx, 'flow-fanout', kind, [item, fanIn], FANOUT_CONCURRENCY, async (client) => {
    await sleep(20);
    const t0 = performance.now();
    const handle = await client.submitFlow(f, { store: { items } });
    const submitted = performance.now();
    const out = (await withDeadline(
      handle.result({ timeout: `${deadlineMs}ms` }),
      deadlineMs + 1000,
      'the fan-out flow',
    )) as { fanIn?: { count: number } };
    const t1 = performance.now();
    if (out.fanIn?.count !== FANOUT_ITEMS) throw new Error(`fan-in saw ${out.fanIn?.count} outputs`);
    return { totalMs: t1 - t0, submitMs: submitted - t0 };
  });
  const cap = FANOUT_MAP_CAP === null ? 'no cap' : `cap ${count(FANOUT_MAP_CAP)}`;
  return [
    {
      key: 'flow-fanout.rate',
      label: `map over ${count(FANOUT_ITEMS)} no-op items (${cap}) + fan-in, worker concurrency ${FANOUT_CONCURRENCY}: submit -> result`,
      value: rate(FANOUT_ITEMS, r.totalMs),
      unit: 'steps/s',
      target: kind === 'sqlite' ? { op: '>=', value: 5000 } : undefined,
    },
    { key: 'flow-fanout.total', label: 'same, total time', value: r.totalMs / 1000, unit: 's' },
    { key: 'flow-fanout.submit', label: 'of which submitFlow() itself', value: r.submitMs, unit: 'ms' },
  ];
}

export const flowLatencySqlite = (ctx: ScenarioContext) => flowLatency(ctx, 'sqlite');
export const flowLatencyPostgres = (ctx: ScenarioContext) => flowLatency(ctx, 'postgres');
export const flowFanoutSqlite = (ctx: ScenarioContext) => flowFanout(ctx, 'sqlite');
export const flowFanoutPostgres = (ctx: ScenarioContext) => flowFanout(ctx, 'postgres');
