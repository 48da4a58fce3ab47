/**
 * Scenario `drain-cross`: the drain of scenario `drain`, but the worker runs in a second process
 * (bench/worker-process.ts) sharing the database file. This process enqueues the 50,000 jobs
 * first, then keeps its client open (as an application would) while the child drains.
 *
 * Timing: from sending `start` to the child (after it has loaded and opened the store) to
 * receiving its `finished` message, sent when the last completion commit is announced.
 */
import { join } from 'node:path';
import { createClient } from '../src/index.js';
import { DRAIN_CONCURRENCY, DRAIN_JOBS } from './drain.js';
import {
  count,
  countByState,
  endChild,
  enqueueNoops,
  forkTs,
  type Metric,
  nextMessage,
  rate,
  SCENARIO_DEADLINE_MS,
  type ScenarioContext,
} from './lib.js';

const is = (type: string) => (m: unknown) => ((m as { type?: string }).type === type ? true : undefined);

export async function drainCross(ctx: ScenarioContext): Promise<Metric[]> {
  const path = join(ctx.dir, 'drain-cross.db');
  const client = createClient({ store: path });
  const child = forkTs('worker-process.ts', ['drain', path, String(DRAIN_JOBS)]);
  try {
    await enqueueNoops(client, DRAIN_JOBS);
    await nextMessage(child, is('ready'), 20_000, 'the worker process to start');
    const t0 = performance.now();
    child.send({ type: 'start' });
    await nextMessage(child, is('finished'), SCENARIO_DEADLINE_MS, `${DRAIN_JOBS} jobs to finish`);
    const ms = performance.now() - t0;
    await nextMessage(child, is('stopped'), 10_000, 'the worker process to stop');
    const succeeded = countByState(path, 'succeeded');
    if (succeeded !== DRAIN_JOBS) throw new Error(`drain-cross: ${succeeded} of ${DRAIN_JOBS} succeeded`);
    return [
      {
        key: 'drain-cross.committed',
        label: `drain ${count(DRAIN_JOBS)}, concurrency ${DRAIN_CONCURRENCY}, worker in 2nd process`,
        value: rate(DRAIN_JOBS, ms),
        unit: 'jobs/s',
        target: { op: '>=', value: 20_000 },
      },
    ];
  } finally {
    await endChild(child);
    await client.close();
  }
}
