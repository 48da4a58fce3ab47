/**
 * Scenario `placement`: the cost of resource matching. One in-process worker (concurrency 20,
 * capacity cpu=20) drains the same number of no-op jobs twice: plain jobs, and jobs that each ask
 * for `cpu: 1` (claimed through the placed path: candidates matched against what the worker has
 * free). Reports both rates and their ratio. SQLite and PostgreSQL variants.
 */
import { join } from 'node:path';
import {
  createClient,
  createPostgresStore,
  createSqliteStore,
  createWorker,
  type Store,
} from '../src/index.js';
import type { ScenarioContext } from './lib.js';
import {
  count,
  type Metric,
  noopTask,
  quietLogger,
  rate,
  SCENARIO_DEADLINE_MS,
  whenFinished,
  withDeadline,
} from './lib.js';
import { dropSchema, PG_URL } from './pg-systems.js';

const CONCURRENCY = 20;

async function drainOnce(store: Store, n: number, placed: boolean): Promise<number> {
  const client = createClient({ store });
  const task = noopTask();
  const options = placed ? { resources: { cpu: 1 } } : {};
  for (let i = 0; i < n; i += 1000) {
    await client.submitMany(
      task,
      Array.from({ length: Math.min(1000, n - i) }, () => null),
      options,
    );
  }
  const worker = createWorker({
    store,
    tasks: [task],
    concurrency: CONCURRENCY,
    capacity: { cpu: CONCURRENCY },
    coordinator: false,
    logger: quietLogger,
  });
  const finished = whenFinished(store, n);
  try {
    const t0 = performance.now();
    await worker.start();
    const doneAt = await withDeadline(finished.done, SCENARIO_DEADLINE_MS, `${n} jobs to finish`);
    return doneAt - t0;
  } finally {
    finished.cancel();
    await worker.stop({ timeout: '5s' });
    await client.close();
  }
}

function metrics(n: number, plainMs: number, placedMs: number, prefix: string): Metric[] {
  const plain = rate(n, plainMs);
  const placed = rate(n, placedMs);
  return [
    {
      key: `${prefix}.plain`,
      label: `drain ${count(n)} plain jobs, concurrency ${CONCURRENCY}`,
      value: plain,
      unit: 'jobs/s',
    },
    {
      key: `${prefix}.placed`,
      label: `drain ${count(n)} jobs asking cpu=1 (matching on)`,
      value: placed,
      unit: 'jobs/s',
    },
    {
      key: `${prefix}.ratio`,
      label: 'placed / plain',
      value: Math.round((placed / plain) * 100) / 100,
      unit: 'x',
    },
  ];
}

export async function placementSqlite(ctx: ScenarioContext): Promise<Metric[]> {
  const n = 20_000;
  const results: number[] = [];
  for (const placed of [false, true]) {
    const store = createSqliteStore({ path: join(ctx.dir, `placement-${placed}.db`) });
    try {
      results.push(await drainOnce(store, n, placed));
    } finally {
      await store.close();
    }
  }
  return metrics(n, results[0] as number, results[1] as number, 'placement');
}

export async function placementPostgres(): Promise<Metric[]> {
  const n = 5_000;
  const results: number[] = [];
  for (const placed of [false, true]) {
    const schema = `stint_bench_placement_${process.pid}_${placed ? 'on' : 'off'}`;
    await dropSchema(schema);
    const store = createPostgresStore({ connectionString: PG_URL, schema, maxConnections: 10 });
    try {
      results.push(await drainOnce(store, n, placed));
    } finally {
      await store.close();
      await dropSchema(schema);
    }
  }
  return metrics(n, results[0] as number, results[1] as number, 'pg-placement');
}
