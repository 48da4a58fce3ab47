import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type Client,
  createClient,
  createWorker,
  defineTask,
  QueueFullError,
  type Store,
  type Worker,
} from '../../src/index.js';
import { createPostgresStore } from '../../src/store/postgres/store.js';
import { createSqliteStore } from '../../src/store/sqlite/store.js';
import { eventually, tempDbPath, tempDir } from '../helpers.js';
import { freshSchema, PG_URL, pgAvailable } from '../pg.js';
import { spawnFixture } from '../processes.js';

const dir = tempDir();
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const hasPg = await pgAvailable();

interface Target {
  name: string;
  /** A store for this test, and the URL other processes open it with. */
  make(): { store: Store; url: string };
}

const targets: Target[] = [
  {
    name: 'sqlite',
    make() {
      const path = tempDbPath(dir);
      return { store: createSqliteStore({ path }), url: path };
    },
  },
];
if (hasPg) {
  targets.push({
    name: 'postgres',
    make() {
      const schema = freshSchema();
      return {
        store: createPostgresStore({ connectionString: PG_URL, schema, maxConnections: 8 }),
        url: `${PG_URL}?schema=${schema}`,
      };
    },
  });
}

/** The most that ran at once, from [start, end] intervals. */
function maxOverlap(intervals: readonly { start: number; end: number; weight?: number }[]): number {
  const edges = intervals.flatMap((i) => [
    { at: i.start, d: i.weight ?? 1 },
    { at: i.end, d: -(i.weight ?? 1) },
  ]);
  // Ends before starts at the same instant: a slot freed and taken in one millisecond is not overlap.
  edges.sort((a, b) => a.at - b.at || a.d - b.d);
  let now = 0;
  let max = 0;
  for (const e of edges) {
    now += e.d;
    max = Math.max(max, now);
  }
  return max;
}

for (const target of targets) {
  describe(`placement on ${target.name}`, () => {
    let store: Store;
    let url: string;
    let client: Client;
    const workers: Worker[] = [];

    const open = () => {
      ({ store, url } = target.make());
      client = createClient({ store });
    };
    const start = async (options: Omit<Parameters<typeof createWorker>[0], 'store'>) => {
      const worker = createWorker({ store, logger: quiet, pollInterval: 50, ...options });
      workers.push(worker);
      await worker.start();
      return worker;
    };

    afterEach(async () => {
      for (const w of workers.splice(0)) await w.stop({ timeout: 1000 });
      await client?.close();
      await store?.close();
    });

    it('never runs more cpu than the worker has (500 jobs of 1, 2 and 3 cpu)', async () => {
      open();
      let inUse = 0;
      let peak = 0;
      const work = defineTask({
        name: 'work',
        input: z.object({ cpu: z.number() }),
        async run(_ctx, input) {
          inUse += input.cpu;
          peak = Math.max(peak, inUse);
          await new Promise((resolve) => setTimeout(resolve, 1 + (input.cpu % 3)));
          inUse -= input.cpu;
          return input.cpu;
        },
      });
      await start({ tasks: [work], concurrency: 10, capacity: { cpu: 4 }, coordinator: false });
      const handles = [];
      for (let i = 0; i < 500; i++) {
        const cpu = (i % 3) + 1;
        handles.push(await client.submit(work, { cpu }, { resources: { cpu } }));
      }
      const outputs = await Promise.all(handles.map((h) => h.result({ timeout: '120s' })));
      expect(outputs).toHaveLength(500);
      expect(peak).toBeLessThanOrEqual(4);
      expect(peak).toBeGreaterThanOrEqual(3);
    }, 180_000);

    it('holds a gpu job until a gpu worker starts, and reports a job no worker can fit', async () => {
      open();
      const train = defineTask({
        name: 'train',
        input: z.object({}),
        resources: { gpu: 1 },
        run: () => 'trained',
      });
      const huge = defineTask({ name: 'huge', input: z.object({}), resources: { cpu: 64 }, run: () => 'no' });
      const cpuOnly = await start({
        tasks: [train, huge],
        capacity: { cpu: 4 },
        coordinator: { sweepInterval: 50 },
      });
      const job = await client.submit(train, {});
      const big = await client.submit(huge, {});
      const unplaceable = await eventually(async () => {
        const rec = await big.get();
        return rec.unplaceable ? rec.unplaceable : undefined;
      }, 15_000);
      expect(unplaceable).toMatch(/cpu 64 > 4/);
      expect((await job.get()).state).toBe('pending');
      const gpuWorker = await start({ tasks: [train], capacity: { cpu: 4, gpu: 1 }, coordinator: false });
      expect(await job.result({ timeout: '30s' })).toBe('trained');
      expect((await job.get()).workerId).toBe(gpuWorker.id);
      expect(cpuOnly.id).not.toBe(gpuWorker.id);
      expect((await big.get()).state).toBe('pending');
      const registered = await client.listWorkers({ state: 'active' });
      expect(registered.map((w) => w.id).sort()).toEqual([cpuOnly.id, gpuWorker.id].sort());
      expect(registered.find((w) => w.id === gpuWorker.id)?.capacity).toEqual({ cpu: 4, gpu: 1 });
    }, 60_000);

    it('matches labels and serves only subscribed queues', async () => {
      open();
      const where = defineTask({ name: 'where', input: z.object({}), run: () => 'done' });
      const eu = await start({
        tasks: [where],
        labels: { zone: 'eu-1' },
        queues: ['default'],
        coordinator: false,
      });
      const us = await start({
        tasks: [where],
        labels: { zone: 'us-1' },
        queues: ['default', 'us'],
        coordinator: false,
      });
      const inEu = await client.submit(where, {}, { labels: { zone: 'eu-1' } });
      const inUs = await client.submit(where, {}, { labels: { zone: 'us-1' } });
      const onlyUsQueue = await client.submit(where, {}, { queue: 'us' });
      for (const h of [inEu, inUs, onlyUsQueue]) await h.result({ timeout: '30s' });
      expect((await inEu.get()).workerId).toBe(eu.id);
      expect((await inUs.get()).workerId).toBe(us.id);
      expect((await onlyUsQueue.get()).workerId).toBe(us.id);
    }, 60_000);

    it('rejects and sheds at a queue limit, and rate-limits starts', async () => {
      open();
      await client.setQueue('bounded', { maxPending: 2 });
      const noop = defineTask({ name: 'noop', input: z.object({}), queue: 'bounded', run: () => Date.now() });
      await client.submit(noop, {});
      await client.submit(noop, {}, { priority: 5 });
      await expect(client.submit(noop, {})).rejects.toBeInstanceOf(QueueFullError);
      await client.setQueue('bounded', { shedPolicy: 'drop_lowest_priority' });
      const urgent = await client.submit(noop, {}, { priority: 9 });
      const cancelled = await client.list({ state: 'cancelled' });
      expect(cancelled.jobs).toHaveLength(1);
      expect((await client.events(cancelled.jobs[0]!.id)).at(-1)?.detail).toMatchObject({ reason: 'shed' });
      expect((await urgent.get()).state).toBe('pending');

      await client.setQueue('limited', { rateLimit: { limit: 5, period: '1s' } });
      const tick = defineTask({ name: 'tick', input: z.object({}), queue: 'limited', run: () => Date.now() });
      await start({ tasks: [tick], concurrency: 20, coordinator: false });
      const handles = await client.submitMany(
        tick,
        Array.from({ length: 15 }, () => ({})),
      );
      for (const h of handles) await h.result({ timeout: '60s' });
      // The store's start times: a window opens at the claim that starts it, by the store's clock
      // (a handler's own clock would start later and could take in the next window's starts).
      const starts = (await Promise.all(handles.map(async (h) => (await h.get()).startedAt as number))).sort(
        (a, b) => a - b,
      );
      const first = starts[0] as number;
      // Windows open at a start: the first window holds at most 5 starts.
      expect(starts.filter((t) => t < first + 1000).length).toBeLessThanOrEqual(5);
      const queue = (await client.listQueues()).find((q) => q.name === 'limited');
      expect(queue).toMatchObject({
        succeeded: 15,
        workers: 1,
        settings: { rateLimit: { limit: 5, periodMs: 1000 } },
      });
    }, 60_000);

    it('keeps a concurrency key within its limit across 3 worker processes', async () => {
      open();
      const children = Array.from({ length: 3 }, () => spawnFixture('placement-worker-child.ts', [url]));
      await Promise.all(children.map((c) => c.waitFor(/^ready /, 30_000)));
      try {
        const inputs = Array.from({ length: 24 }, (_, i) => ({ customer: i % 3 === 0 ? 'b' : 'a', ms: 40 }));
        // By name: the task's key is computed from the input, which a worker cannot register, so
        // this submitter names the key (as an HTTP or CLI caller would).
        const handles = await Promise.all(
          inputs.map((input) =>
            client.submit('keyed', input, { concurrency: { key: `customer:${input.customer}`, limit: 2 } }),
          ),
        );
        const results = (await Promise.all(handles.map((h) => h.result({ timeout: '90s' })))) as {
          start: number;
          end: number;
        }[];
        const a = results.filter((_, i) => inputs[i]?.customer === 'a');
        const b = results.filter((_, i) => inputs[i]?.customer === 'b');
        expect(maxOverlap(a)).toBeLessThanOrEqual(2);
        expect(maxOverlap(b)).toBeLessThanOrEqual(2);
        expect(results).toHaveLength(24);
      } finally {
        for (const c of children) c.process.kill('SIGTERM');
        await Promise.all(children.map((c) => c.exited));
      }
    }, 120_000);
  });
}
