/**
 * Scenario `latency`: time from `client.submit()` to the handler starting, with an idle worker.
 * One job at a time: submit, wait for the handler to start and for its completion to be
 * committed, pause 2 ms so the worker is idle again, repeat. Warm-up samples are dropped.
 *
 * - same process: both ends read `performance.now()`; the submit time is taken just before
 *   `client.submit()` is called.
 * - other process (bench/worker-process.ts): the handler sends its start time as
 *   `performance.timeOrigin + performance.now()` (wall clock, sub-ms) and this process compares
 *   it with its own submit time read the same way. Both clocks are the same system clock, so the
 *   difference is the wake-up path: the WAL file watch, then the claim.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createClient, createSqliteStore, createWorker } from '../src/index.js';
import {
  endChild,
  forkTs,
  type Metric,
  nextMessage,
  noopTask,
  percentile,
  quietLogger,
  SCENARIO_DEADLINE_MS,
  type ScenarioContext,
  sleep,
  wallNow,
  withDeadline,
} from './lib.js';

const SAMPLES = 500;
const WARMUP = 50;
const GAP_MS = 2;
/** Slower than any wake-up path; such a sample was picked up by the worker's poll instead. */
const SLOW_MS = 50;

/** What the worker side has reported so far, and a way to wait for more. */
function createInbox() {
  const started = new Map<string, number>();
  const finished = new Set<string>();
  let waiters: (() => void)[] = [];
  const changed = () => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  async function until(ready: () => boolean, deadline: number, what: string): Promise<void> {
    while (!ready()) {
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await withDeadline(new Promise<void>((r) => waiters.push(r)), left, what);
    }
  }
  return { started, finished, changed, until };
}

type Inbox = ReturnType<typeof createInbox>;

/** Runs the sample loop; `now` is the clock the worker side stamps `started` with. */
async function sample(
  submit: () => Promise<{ id: string }>,
  inbox: Inbox,
  now: () => number,
): Promise<number[]> {
  const deadline = performance.now() + SCENARIO_DEADLINE_MS / 2;
  const samples: number[] = [];
  for (let i = 0; i < WARMUP + SAMPLES; i++) {
    const t0 = now();
    const { id } = await submit();
    await inbox.until(() => inbox.started.has(id) && inbox.finished.has(id), deadline, `job ${id}`);
    if (i >= WARMUP) samples.push((inbox.started.get(id) as number) - t0);
    await sleep(GAP_MS);
  }
  return samples;
}

async function sameProcess(dir: string): Promise<number[]> {
  const path = join(dir, 'latency.db');
  const inbox = createInbox();
  const task = noopTask((id) => {
    inbox.started.set(id, performance.now());
    inbox.changed();
  });
  const client = createClient({ store: path, tasks: [task] });
  const store = createSqliteStore({ path });
  const worker = createWorker({ store, tasks: [task], concurrency: 10, logger: quietLogger });
  store.subscribe((note) => {
    if (note.type !== 'jobs-finished') return;
    for (const id of note.ids) inbox.finished.add(id);
    inbox.changed();
  });
  try {
    await worker.start();
    await sleep(50);
    return await sample(
      () => client.submit(task, {}),
      inbox,
      () => performance.now(),
    );
  } finally {
    await worker.stop({ timeout: '1s' });
    await store.close();
    await client.close();
  }
}

async function otherProcess(dir: string): Promise<number[]> {
  const path = join(dir, 'latency-cross.db');
  const inbox = createInbox();
  const task = noopTask();
  const client = createClient({ store: path, tasks: [task] });
  let child: ChildProcess | null = null;
  try {
    child = forkTs('worker-process.ts', ['latency', path]);
    child.on('message', (m: { type?: string; id?: string; at?: number; ids?: string[] }) => {
      if (m.type === 'started' && m.id !== undefined) inbox.started.set(m.id, m.at as number);
      else if (m.type === 'finished') for (const id of m.ids ?? []) inbox.finished.add(id);
      inbox.changed();
    });
    await nextMessage(
      child,
      (m) => ((m as { type?: string }).type === 'ready' ? true : undefined),
      20_000,
      'worker',
    );
    await sleep(50);
    return await sample(() => client.submit(task, {}), inbox, wallNow);
  } finally {
    if (child) await endChild(child);
    await client.close();
  }
}

export async function latency(ctx: ScenarioContext): Promise<Metric[]> {
  const local = await sameProcess(ctx.dir);
  const cross = await otherProcess(ctx.dir);
  if (cross.some((v) => v < -0.5))
    throw new Error('cross-process latency came out negative: clock basis broken');
  return [
    {
      key: 'latency.p50',
      label: 'same process, p50',
      value: percentile(local, 50),
      unit: 'ms',
      target: { op: '<=', value: 1 },
    },
    {
      key: 'latency.p99',
      label: 'same process, p99',
      value: percentile(local, 99),
      unit: 'ms',
      target: { op: '<=', value: 5 },
    },
    { key: 'latency.max', label: 'same process, max', value: percentile(local, 100), unit: 'ms' },
    {
      key: 'latency.cross.p50',
      label: 'worker in 2nd process, p50',
      value: percentile(cross, 50),
      unit: 'ms',
      target: { op: '<=', value: 10 },
    },
    {
      key: 'latency.cross.p99',
      label: 'worker in 2nd process, p99',
      value: percentile(cross, 99),
      unit: 'ms',
    },
    {
      key: 'latency.cross.max',
      label: 'worker in 2nd process, max',
      value: percentile(cross, 100),
      unit: 'ms',
    },
    {
      // A wake-up that never arrived leaves the job to the worker's 1 s poll.
      key: 'latency.cross.slow',
      label: `worker in 2nd process, samples over ${SLOW_MS} ms (of ${SAMPLES})`,
      value: cross.filter((v) => v > SLOW_MS).length,
      unit: 'count',
    },
  ];
}
