/**
 * Scenario `drain`: stint draining 50,000 pre-enqueued no-op jobs with one worker
 * (concurrency 50) in the process that enqueued them.
 *
 * Timing starts just before `worker.start()`. The reported rate uses the moment the last of the
 * 50,000 completions was *committed* (the store's `jobs-finished` notification, published right
 * after each completion transaction), which is what the bare loop's rate means too. The time of
 * the last handler call is reported alongside. The store is checked afterwards: all 50,000 must
 * be `succeeded`.
 */
import { join } from 'node:path';
import { createClient, createSqliteStore, createWorker } from '../src/index.js';
import {
  count,
  countByState,
  enqueueNoops,
  type Metric,
  noopTask,
  quietLogger,
  rate,
  SCENARIO_DEADLINE_MS,
  type ScenarioContext,
  whenFinished,
  withDeadline,
} from './lib.js';

export const DRAIN_JOBS = 50_000;
export const DRAIN_CONCURRENCY = 50;

export interface DrainResult {
  /** From `worker.start()` to the commit of the last completion. */
  committedMs: number;
  /** From `worker.start()` to the last handler call. */
  lastHandlerMs: number;
}

/** Enqueues `n` no-op jobs into a new database at `path` (the client is closed afterwards). */
export async function prepareJobs(path: string, n: number): Promise<void> {
  const client = createClient({ store: path });
  try {
    await enqueueNoops(client, n);
  } finally {
    await client.close();
  }
}

/** Drains the `n` jobs waiting in `path` with an in-process worker and checks the outcome. */
export async function drainInProcess(path: string, n: number): Promise<DrainResult> {
  let handled = 0;
  let lastHandlerAt = 0;
  const task = noopTask(() => {
    if (++handled === n) lastHandlerAt = performance.now();
  });
  const store = createSqliteStore({ path });
  const worker = createWorker({
    store,
    tasks: [task],
    concurrency: DRAIN_CONCURRENCY,
    logger: quietLogger,
  });
  const finished = whenFinished(store, n);
  try {
    const t0 = performance.now();
    await worker.start();
    const committedAt = await withDeadline(finished.done, SCENARIO_DEADLINE_MS, `${n} jobs to finish`);
    await withDeadline(worker.stop({ timeout: '5s' }), 10_000, 'the worker to stop');
    const succeeded = countByState(path, 'succeeded');
    if (succeeded !== n) throw new Error(`drain: ${succeeded} of ${n} jobs succeeded`);
    return { committedMs: committedAt - t0, lastHandlerMs: lastHandlerAt - t0 };
  } finally {
    finished.cancel();
    await worker.stop({ timeout: '1s' }).catch(() => {});
    await store.close();
  }
}

export async function drain(ctx: ScenarioContext): Promise<Metric[]> {
  const path = join(ctx.dir, 'drain.db');
  await prepareJobs(path, DRAIN_JOBS);
  const r = await drainInProcess(path, DRAIN_JOBS);
  return [
    {
      key: 'drain.committed',
      label: `drain ${count(DRAIN_JOBS)}, concurrency ${DRAIN_CONCURRENCY}, to last commit`,
      value: rate(DRAIN_JOBS, r.committedMs),
      unit: 'jobs/s',
      target: { op: '>=', value: 30_000 },
    },
    {
      key: 'drain.handler',
      label: 'same drain, to last handler call',
      value: rate(DRAIN_JOBS, r.lastHandlerMs),
      unit: 'jobs/s',
    },
  ];
}
