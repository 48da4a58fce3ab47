/**
 * Scenario `enqueue`: the submit path with no worker running.
 * - bulk: 50,000 no-op jobs through `client.submitMany`, 1,000 per call (one transaction each).
 * - single: 10,000 sequential `client.submit` calls, each awaited (one transaction each).
 * Both go through validation (the task is registered with the client, as in an application).
 */
import { join } from 'node:path';
import { createClient } from '../src/index.js';
import {
  count,
  countByState,
  type Metric,
  noopTask,
  rate,
  SCENARIO_DEADLINE_MS,
  type ScenarioContext,
} from './lib.js';

const BULK_JOBS = 50_000;
const BULK_BATCH = 1000;
const SINGLE_JOBS = 10_000;

export async function enqueue(ctx: ScenarioContext): Promise<Metric[]> {
  const task = noopTask();
  const deadline = performance.now() + SCENARIO_DEADLINE_MS;

  const bulkPath = join(ctx.dir, 'bulk.db');
  const bulk = createClient({ store: bulkPath, tasks: [task] });
  const inputs = Array.from({ length: BULK_BATCH }, () => ({}));
  let bulkMs: number;
  try {
    // One small call first so that opening and preparing are not timed.
    await bulk.submitMany(task, [{}]);
    const t0 = performance.now();
    for (let done = 0; done < BULK_JOBS && performance.now() < deadline; done += BULK_BATCH) {
      await bulk.submitMany(task, inputs);
    }
    bulkMs = performance.now() - t0;
  } finally {
    await bulk.close();
  }
  const bulkCount = countByState(bulkPath, 'pending');
  if (bulkCount !== BULK_JOBS + 1) throw new Error(`bulk enqueue stored ${bulkCount} jobs`);

  const singlePath = join(ctx.dir, 'single.db');
  const single = createClient({ store: singlePath, tasks: [task] });
  let singleMs: number;
  try {
    await single.submit(task, {});
    const t0 = performance.now();
    for (let i = 0; i < SINGLE_JOBS && performance.now() < deadline; i++) await single.submit(task, {});
    singleMs = performance.now() - t0;
  } finally {
    await single.close();
  }
  const singleCount = countByState(singlePath, 'pending');
  if (singleCount !== SINGLE_JOBS + 1) throw new Error(`single enqueue stored ${singleCount} jobs`);

  return [
    {
      key: 'enqueue.bulk',
      label: `submitMany ${count(BULK_JOBS)}, 1,000 per call`,
      value: rate(BULK_JOBS, bulkMs),
      unit: 'jobs/s',
      target: { op: '>=', value: 150_000 },
    },
    {
      key: 'enqueue.single',
      label: `submit x ${count(SINGLE_JOBS)}, sequential`,
      value: rate(SINGLE_JOBS, singleMs),
      unit: 'jobs/s',
      target: { op: '>=', value: 15_000 },
    },
  ];
}
