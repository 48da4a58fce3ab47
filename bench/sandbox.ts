/**
 * Scenario `sandbox`: a no-op task drained from SQLite by one in-process worker, run `inline`, in
 * the `process` sandbox with reused children (the default), and in a fresh child per job
 * (`reuse: false`). Timing runs from `worker.start()` to the commit of the last completion, so the
 * process figures include starting the children (tsx and the task module are loaded once per child).
 */
import { join } from 'node:path';
import { createClient, createSqliteStore, createWorker, type Task } from '../src/index.js';
import {
  count,
  countByState,
  type Metric,
  quietLogger,
  rate,
  SCENARIO_DEADLINE_MS,
  type ScenarioContext,
  whenFinished,
  withDeadline,
} from './lib.js';
import { freshProcessNoop, inlineNoop, processNoop } from './sandbox-tasks.js';

/** Jobs at once: children kept busy on 2 cores without starving the worker's own loop. */
const CONCURRENCY = 8;

async function drainTask(path: string, task: Task, n: number): Promise<number> {
  const client = createClient({ store: path, tasks: [task] });
  try {
    const inputs = Array.from({ length: n }, () => ({}));
    for (let i = 0; i < n; i += 1000) await client.submitMany(task, inputs.slice(i, i + 1000));
  } finally {
    await client.close();
  }
  const store = createSqliteStore({ path });
  const worker = createWorker({ store, tasks: [task], concurrency: CONCURRENCY, logger: quietLogger });
  const finished = whenFinished(store, n);
  try {
    const t0 = performance.now();
    await worker.start();
    const at = await withDeadline(finished.done, SCENARIO_DEADLINE_MS, `${n} ${task.name} jobs`);
    await withDeadline(worker.stop({ timeout: '5s' }), 10_000, 'the worker to stop');
    const ok = countByState(path, 'succeeded');
    if (ok !== n) throw new Error(`sandbox: ${ok} of ${n} ${task.name} jobs succeeded`);
    return rate(n, at - t0);
  } finally {
    finished.cancel();
    await worker.stop({ timeout: '1s' });
    await store.close();
  }
}

export async function sandbox(ctx: ScenarioContext): Promise<Metric[]> {
  const runs = [
    { task: inlineNoop, n: 20_000, key: 'inline', label: 'inline' },
    { task: processNoop, n: 5_000, key: 'process', label: 'process, reused children', target: 200 },
    { task: freshProcessNoop, n: 24, key: 'process-fresh', label: 'process, a fresh child per job' },
  ];
  const out: Metric[] = [];
  for (const r of runs) {
    const value = await drainTask(join(ctx.dir, `${r.key}.db`), r.task, r.n);
    out.push({
      key: `sandbox.${r.key}`,
      label: `no-op, ${r.label}, ${count(r.n)} jobs, concurrency ${CONCURRENCY}`,
      value,
      unit: 'jobs/s',
      ...(r.target ? { target: { op: '>=' as const, value: r.target } } : {}),
    });
  }
  return out;
}
