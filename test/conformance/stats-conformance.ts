import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFakeClock, type FakeClock } from '../../src/core/clock.js';
import { ValidationError } from '../../src/core/errors.js';
import { DEFAULT_RETRY } from '../../src/core/retry.js';
import type { NewJob, Store, TaskDefaults } from '../../src/store/types.js';

const T = Date.UTC(2026, 10, 23, 12); // a whole minute
const MIN = 60_000;

/**
 * What the web UI reads of a store (both stores run it): the task list with input schemas, a lease
 * as stored, throughput per bucket and failing tasks.
 */
export function describeStatsConformance(
  name: string,
  makeStore: (clock: FakeClock) => Promise<Store>,
): void {
  describe(`stats conformance: ${name}`, () => {
    let clock: FakeClock;
    let store: Store;
    beforeEach(async () => {
      clock = createFakeClock(T);
      store = await makeStore(clock);
    });
    afterEach(async () => {
      await store.close();
    });

    const job = (task = 't'): NewJob => ({
      task,
      queue: 'default',
      input: {},
      priority: 0,
      retry: DEFAULT_RETRY,
      timeoutMs: null,
      metadata: null,
      dedup: null,
    });
    const insert = async (task = 't') => (await store.insertJobs([job(task)]))[0]!.id;
    const claimAll = (tasks = ['t']) =>
      store.claimJobs({ workerId: 'w', queues: ['default'], tasks, limit: 100, leaseMs: 3_600_000 });
    const finish = (id: string, outcome: 'succeeded' | 'failed') =>
      store.completeJobs({
        completions: [
          outcome === 'succeeded'
            ? { id, attempt: 1, workerId: 'w', outcome, output: null }
            : {
                id,
                attempt: 1,
                workerId: 'w',
                outcome,
                error: { name: 'Error', message: 'x' },
                retryDelayMs: null,
              },
        ],
      });

    describe('listTasks', () => {
      const task = (over: Partial<TaskDefaults> = {}): TaskDefaults => ({
        name: 'b',
        queue: 'default',
        priority: 0,
        retry: DEFAULT_RETRY,
        timeoutMs: null,
        revertible: false,
        ...over,
      });

      it('is empty before any registration', async () => {
        expect(await store.listTasks()).toEqual([]);
      });

      it('lists registered tasks by name with their schema, description and time; the last registration wins', async () => {
        const schema = { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] };
        await store.registerTasks([
          task({ name: 'b', inputSchema: schema, description: 'does b', timeoutMs: 5000, revertible: true }),
          task({ name: 'a', queue: 'q', priority: 2, placement: { resources: { cpu: 1 } } }),
        ]);
        const tasks = await store.listTasks();
        expect(tasks.map((t) => t.name)).toEqual(['a', 'b']);
        expect(tasks[0]).toMatchObject({
          name: 'a',
          queue: 'q',
          priority: 2,
          retry: DEFAULT_RETRY,
          placement: { resources: { cpu: 1 } },
          concurrency: null,
          inputSchema: null,
          description: null,
          updatedAt: T,
        });
        expect(tasks[1]).toMatchObject({
          name: 'b',
          timeoutMs: 5000,
          revertible: true,
          inputSchema: schema,
          description: 'does b',
        });

        clock.advance(1000);
        await store.registerTasks([task({ name: 'b', description: null, inputSchema: null })]);
        const b = (await store.listTasks()).find((t) => t.name === 'b');
        expect(b).toMatchObject({
          inputSchema: null,
          description: null,
          revertible: false,
          updatedAt: T + 1000,
        });
        // The defaults submitters read are unchanged in shape.
        expect(await store.getTaskDefaults('b')).toMatchObject({ name: 'b', queue: 'default' });
      });
    });

    describe('getLease', () => {
      it('reads a lease as stored: null when never taken, its holder and expiry, expired after release', async () => {
        expect(await store.getLease('coordinator')).toBeNull();
        expect(await store.acquireLease('coordinator', 'node-1', 5000)).toBe(1);
        expect(await store.getLease('coordinator')).toEqual({
          name: 'coordinator',
          holder: 'node-1',
          term: 1,
          expiresAt: T + 5000,
        });
        clock.advance(6000);
        expect(await store.acquireLease('coordinator', 'node-2', 5000)).toBe(2);
        expect(await store.getLease('coordinator')).toMatchObject({
          holder: 'node-2',
          term: 2,
          expiresAt: T + 11_000,
        });
        await store.releaseLease('coordinator', 'node-2');
        const released = await store.getLease('coordinator');
        expect(released!.expiresAt).toBeLessThanOrEqual(T + 6000);
        expect(await store.getLease('other')).toBeNull();
      });
    });

    describe('jobThroughput', () => {
      it('counts starts and ends per bucket, only inside the range, with empty buckets filled', async () => {
        // Before the range: started and finished two hours ago (not counted).
        const old = await insert();
        await claimAll();
        await finish(old, 'succeeded');

        clock.set(T + 2 * 3_600_000 - 30 * MIN); // 30 minutes into the default hour
        const ok = await insert();
        const bad = await insert();
        const waiting = await insert();
        await claimAll(); // ok, bad and waiting start here (bucket -30)
        clock.advance(10 * MIN + 5000);
        await finish(ok, 'succeeded'); // bucket -20
        await finish(bad, 'failed'); // bucket -20
        const pending = await insert();
        await store.cancelJob(pending, 'no'); // cancelled without starting, bucket -20
        clock.advance(15 * MIN);
        const running = await insert();
        await claimAll(); // still running, started in bucket -5
        clock.advance(5 * MIN - 5000);
        const now = T + 2 * 3_600_000;
        expect(clock.now()).toBe(now);

        const out = await store.jobThroughput();
        expect(out.bucketMs).toBe(MIN);
        expect(out.until).toBe(now);
        expect(out.buckets).toHaveLength(60);
        expect(out.buckets[0]!.at).toBe(now - 59 * MIN);
        expect(out.since).toBe(now - 59 * MIN);
        expect(out.buckets.at(-1)!.at).toBe(now);
        const at = (minutesBack: number) => out.buckets.find((b) => b.at === now - minutesBack * MIN);
        expect(at(30)).toEqual({ at: now - 30 * MIN, started: 3, succeeded: 0, failed: 0, cancelled: 0 });
        expect(at(20)).toEqual({ at: now - 20 * MIN, started: 0, succeeded: 1, failed: 1, cancelled: 1 });
        expect(at(5)).toEqual({ at: now - 5 * MIN, started: 1, succeeded: 0, failed: 0, cancelled: 0 });
        const total = (k: 'started' | 'succeeded' | 'failed' | 'cancelled') =>
          out.buckets.reduce((n, b) => n + b[k], 0);
        expect([total('started'), total('succeeded'), total('failed'), total('cancelled')]).toEqual([
          4, 1, 1, 1,
        ]);
        expect(running).toBeTruthy();
        expect(waiting).toBeTruthy();

        // A wider bucket and an explicit start; jobs before `since` stay out even in its bucket.
        const wide = await store.jobThroughput({ since: now - 25 * MIN, bucketMs: 10 * MIN });
        expect(wide.buckets.map((b) => b.at)).toEqual([now - 30 * MIN, now - 20 * MIN, now - 10 * MIN, now]);
        expect(wide.buckets[0]).toMatchObject({ started: 0, succeeded: 0 });
        expect(wide.buckets[1]).toMatchObject({ started: 0, succeeded: 1, failed: 1, cancelled: 1 });
        expect(wide.buckets[2]).toMatchObject({ started: 1 });

        // The whole history by hours counts the old job too.
        const all = await store.jobThroughput({ since: T, bucketMs: 3_600_000 });
        expect(all.buckets.map((b) => b.succeeded)).toEqual([1, 1, 0]);
      });

      it('rejects bad ranges by name', async () => {
        const bad = async (request: Parameters<Store['jobThroughput']>[0], path: string) => {
          const err = await store.jobThroughput(request).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(ValidationError);
          expect((err as ValidationError).issues[0]!.path).toBe(path);
        };
        await bad({ bucketMs: 10 }, 'bucketMs');
        await bad({ bucketMs: 1.5 * MIN + 0.5 }, 'bucketMs');
        await bad({ since: T + 1 }, 'since');
        await bad({ since: T - 2 * 24 * 3_600_000 }, 'bucketMs'); // 2881 one-minute buckets
        expect((await store.jobThroughput({ since: T })).buckets).toHaveLength(1);
      });
    });

    describe('failingTasks', () => {
      it('counts failed jobs per task since a time, most first, at most limit', async () => {
        const fail = async (task: string) => {
          const id = await insert(task);
          await claimAll([task]);
          await finish(id, 'failed');
        };
        await fail('early'); // before `since`
        clock.advance(MIN);
        for (const t of ['x', 'y', 'y', 'z', 'z', 'z']) await fail(t);
        const done = await insert('x');
        await claimAll(['x']);
        await finish(done, 'succeeded');
        clock.advance(MIN);

        expect(await store.failingTasks({ since: T + 1 })).toEqual([
          { task: 'z', failed: 3, lastFailedAt: T + MIN },
          { task: 'y', failed: 2, lastFailedAt: T + MIN },
          { task: 'x', failed: 1, lastFailedAt: T + MIN },
        ]);
        expect((await store.failingTasks({ since: T, limit: 2 })).map((t) => t.task)).toEqual(['z', 'y']);
        expect(await store.failingTasks({ since: T + 2 * MIN })).toEqual([]);
        await expect(store.failingTasks({ since: T, limit: 0 })).rejects.toBeInstanceOf(ValidationError);
      });
    });
  });
}
