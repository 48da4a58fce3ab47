import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFakeClock, type FakeClock } from '../../src/core/clock.js';
import { QueueFullError } from '../../src/core/errors.js';
import { DEFAULT_RETRY } from '../../src/core/retry.js';
import type { ClaimRequest, NewJob, Store, WorkerHeartbeat } from '../../src/store/types.js';

/**
 * Placement behaviour every store must have: resources, labels, concurrency keys, rate limits,
 * admission limits and shedding, the worker registry and unplaceable jobs.
 */
export function describePlacementConformance(
  name: string,
  makeStore: (clock: FakeClock) => Promise<Store>,
): void {
  describe(`placement conformance: ${name}`, () => {
    let clock: FakeClock;
    let store: Store;

    beforeEach(async () => {
      clock = createFakeClock(Date.UTC(2026, 10, 23, 12));
      store = await makeStore(clock);
    });
    afterEach(async () => {
      await store.close();
    });

    const job = (over: Partial<NewJob> = {}): NewJob => ({
      task: 't',
      queue: 'default',
      input: null,
      priority: 0,
      retry: DEFAULT_RETRY,
      timeoutMs: null,
      metadata: null,
      dedup: null,
      ...over,
    });
    const insert = async (over: Partial<NewJob> = {}) => {
      const [r] = await store.insertJobs([job(over)]);
      return r!.id;
    };
    const claim = (limit: number, over: Partial<ClaimRequest> = {}) =>
      store.claimJobs({
        workerId: 'w1',
        queues: ['default'],
        tasks: ['t'],
        limit,
        leaseMs: 60_000,
        offer: { free: { cpu: 4 }, labels: { os: 'linux' } },
        ...over,
      });
    const succeed = (id: string, attempt = 1) =>
      store.completeJobs({
        completions: [{ id, attempt, workerId: 'w1', outcome: 'succeeded', output: null }],
      });
    const worker = (over: Partial<WorkerHeartbeat> = {}): WorkerHeartbeat => ({
      id: 'w1',
      host: 'h1',
      pid: 1,
      version: 'test',
      queues: ['default'],
      tasks: ['t'],
      labels: { os: 'linux' },
      capacity: { cpu: 4 },
      inUse: {},
      concurrency: 10,
      running: 0,
      heartbeatMs: 1000,
      ...over,
    });

    describe('resources and labels', () => {
      it('claims in order what fits the offer, skipping what does not', async () => {
        const one = await insert({ placement: { resources: { cpu: 1 } } });
        const three = await insert({ placement: { resources: { cpu: 3 } } });
        const two = await insert({ placement: { resources: { cpu: 2 } } });
        const plain = await insert();
        const jobs = await claim(10, { offer: { free: { cpu: 3 }, labels: {} } });
        // cpu 1 then cpu 2 fit in 3; cpu 3 no longer does; the plain job needs nothing.
        expect(jobs.map((j) => j.id).sort()).toEqual([one, two, plain].sort());
        expect(jobs.find((j) => j.id === one)?.placement).toEqual({ resources: { cpu: 1 } });
        expect((await claim(10, { offer: { free: { cpu: 2 }, labels: {} } })).map((j) => j.id)).toEqual([]);
        expect((await claim(10, { offer: { free: { cpu: 3 }, labels: {} } })).map((j) => j.id)).toEqual([
          three,
        ]);
      });

      it('never gives a job a resource the worker lacks', async () => {
        const gpu = await insert({ placement: { resources: { gpu: 1 } } });
        expect(await claim(10)).toEqual([]);
        expect(await claim(10, { offer: { free: {}, labels: {} } })).toEqual([]);
        const jobs = await claim(10, { workerId: 'w2', offer: { free: { gpu: 1 }, labels: {} } });
        expect(jobs.map((j) => j.id)).toEqual([gpu]);
        expect((await store.getJob(gpu))?.workerId).toBe('w2');
      });

      it('matches labels by equality and by presence', async () => {
        const linux = await insert({ placement: { labels: { os: 'linux' } } });
        const mac = await insert({ placement: { labels: { os: 'darwin' } } });
        const ssd = await insert({ placement: { labels: { ssd: true } } });
        const jobs = await claim(10, { offer: { free: {}, labels: { os: 'linux' } } });
        expect(jobs.map((j) => j.id)).toEqual([linux]);
        const more = await claim(10, { offer: { free: {}, labels: { os: 'darwin', ssd: 'nvme' } } });
        expect(more.map((j) => j.id).sort()).toEqual([mac, ssd].sort());
      });

      it('keeps priority order among placed jobs and never lets them block plain ones', async () => {
        for (let i = 0; i < 5; i++) await insert({ placement: { resources: { gpu: 1 } }, priority: 9 });
        const plain = await insert({ priority: 0 });
        const high = await insert({ placement: { resources: { cpu: 1 } }, priority: 5 });
        const low = await insert({ placement: { resources: { cpu: 1 } }, priority: 1 });
        const jobs = await claim(2);
        expect(jobs.map((j) => j.id)).toEqual([high, low]);
        expect((await claim(2)).map((j) => j.id)).toEqual([plain]);
      });
    });

    describe('concurrency keys', () => {
      it('runs at most `limit` jobs of a key across workers', async () => {
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) ids.push(await insert({ concurrency: { key: 'customer:1', limit: 2 } }));
        const other = await insert({ concurrency: { key: 'customer:2', limit: 2 } });
        const first = await claim(10);
        expect(first.map((j) => j.id)).toEqual([ids[0], ids[1], other]);
        expect(await claim(10, { workerId: 'w2' })).toEqual([]);
        await succeed(ids[0]!);
        const next = await claim(10, { workerId: 'w2' });
        expect(next.map((j) => j.id)).toEqual([ids[2]]);
        const rec = await store.getJob(ids[2]!);
        expect(rec?.concurrency).toEqual({ key: 'customer:1', limit: 2 });
      });
    });

    describe('concurrency keys under racing claims', () => {
      it('never lets claims running at the same time take more than the limit', async () => {
        // More jobs of the key than one claim reads, so racing claims read (and lock) different ones.
        for (let round = 0; round < 3; round++) {
          const key = `race:${round}`;
          await store.insertJobs(
            Array.from({ length: 250 }, (_, i) => job({ input: i, concurrency: { key, limit: 2 } })),
          );
          const claims = await Promise.all(
            Array.from({ length: 6 }, (_, w) => claim(10, { workerId: `racer${w}` })),
          );
          const running = (await store.listJobs({ state: 'running', limit: 100 })).jobs;
          expect(
            running.filter((j) => j.concurrency?.key === key),
            key,
          ).toHaveLength(2);
          for (const j of claims.flat()) await succeed(j.id);
          // Leave no running job of this key behind for the next round's count.
          await store.insertJobs([]);
        }
      });
    });

    describe('queues', () => {
      it('limits starts per period with a rate limit', async () => {
        await store.setQueue('default', { rateLimit: { limit: 3, periodMs: 1000 } });
        for (let i = 0; i < 8; i++) await insert();
        await insert({ placement: { resources: { cpu: 1 } } });
        expect(await claim(10)).toHaveLength(3);
        expect(await claim(10)).toHaveLength(0);
        clock.advance(1000);
        expect(await claim(10)).toHaveLength(3);
        clock.advance(1000);
        expect(await claim(10)).toHaveLength(3);
        expect(await claim(10)).toHaveLength(0);
        expect(await store.getQueue('default')).toEqual({
          name: 'default',
          maxPending: null,
          shedPolicy: 'reject',
          rateLimit: { limit: 3, periodMs: 1000 },
        });
      });

      it('rejects submissions beyond maxPending, inserting nothing of the batch', async () => {
        await store.setQueue('default', { maxPending: 3 });
        await insert();
        await insert();
        await expect(store.insertJobs([job(), job({ input: 2 })])).rejects.toBeInstanceOf(QueueFullError);
        expect((await store.listJobs({ state: 'pending' })).jobs).toHaveLength(2);
        await insert();
        await expect(insert()).rejects.toMatchObject({ code: 'QUEUE_FULL', queue: 'default', maxPending: 3 });
        // Other queues are not limited.
        await insert({ queue: 'other' });
        await claim(1);
        await insert();
      });

      it('sheds the lowest-priority pending job for a higher-priority one', async () => {
        await store.setQueue('default', { maxPending: 2, shedPolicy: 'drop_lowest_priority' });
        const low = await insert({ priority: 0 });
        const high = await insert({ priority: 5 });
        const newer = await insert({ priority: 3 });
        const shed = await store.getJob(low);
        expect(shed?.state).toBe('cancelled');
        expect(shed?.error?.message).toMatch(/shed/);
        const events = await store.getJobEvents(low);
        expect(events.at(-1)).toMatchObject({ type: 'cancelled', detail: { reason: 'shed' } });
        expect((await store.getJob(high))?.state).toBe('pending');
        expect((await store.getJob(newer))?.state).toBe('pending');
        await expect(insert({ priority: 3 })).rejects.toBeInstanceOf(QueueFullError);
      });

      it('lists queues with depth per state, settings and workers', async () => {
        await store.setQueue('mail', { maxPending: 100 });
        await insert();
        await insert();
        await insert({ queue: 'mail', task: 'm' });
        const [claimed] = await claim(1);
        await succeed(claimed!.id);
        await insert({ runAt: clock.now() + 60_000 });
        await store.heartbeatWorker(worker());
        const queues = await store.listQueues();
        expect(queues.map((q) => q.name)).toEqual(['default', 'mail']);
        expect(queues[0]).toMatchObject({
          pending: 2,
          due: 1,
          succeeded: 1,
          finishedLastMinute: 1,
          workers: 1,
        });
        expect(queues[1]).toMatchObject({ pending: 1, workers: 0, settings: { maxPending: 100 } });
      });
    });

    describe('worker registry', () => {
      it('records heartbeats, stops, silence and forgetting', async () => {
        await store.heartbeatWorker(worker());
        await store.heartbeatWorker(worker({ id: 'w2', inUse: { cpu: 2 }, running: 1 }));
        let workers = await store.listWorkers();
        expect(workers.map((w) => [w.id, w.state])).toEqual([
          ['w1', 'active'],
          ['w2', 'active'],
        ]);
        expect(workers[1]).toMatchObject({
          inUse: { cpu: 2 },
          running: 1,
          capacity: { cpu: 4 },
          labels: { os: 'linux' },
        });
        await store.stopWorker('w1');
        clock.advance(10_000);
        expect(await store.sweepWorkers({ forgetMs: 60_000 })).toMatchObject({ gone: 1 });
        workers = await store.listWorkers();
        expect(workers.map((w) => [w.id, w.state])).toEqual([
          ['w1', 'stopped'],
          ['w2', 'gone'],
        ]);
        expect(await store.listWorkers({ state: 'gone' })).toHaveLength(1);
        // A gone worker that heartbeats again is active again.
        await store.heartbeatWorker(worker({ id: 'w2' }));
        expect((await store.listWorkers({ state: 'active' })).map((w) => w.id)).toEqual(['w2']);
        clock.advance(61_000);
        await store.heartbeatWorker(worker({ id: 'w2' }));
        await store.sweepWorkers({ forgetMs: 60_000 });
        expect((await store.listWorkers()).map((w) => w.id)).toEqual(['w2']);
      });

      it('marks jobs no live worker could run unplaceable, and clears that when one could', async () => {
        const big = await insert({ placement: { resources: { cpu: 64 } } });
        const ok = await insert({ placement: { resources: { cpu: 2 } } });
        // No worker of the queue: the job waits, which is not a fault.
        await store.sweepWorkers({ forgetMs: 60_000 });
        expect((await store.getJob(big))?.unplaceable).toBeNull();
        await store.heartbeatWorker(worker());
        expect(await store.sweepWorkers({ forgetMs: 60_000 })).toMatchObject({ unplaceable: 1 });
        expect((await store.getJob(big))?.unplaceable).toMatch(/cpu 64 > 4/);
        expect((await store.getJob(ok))?.unplaceable).toBeNull();
        await store.heartbeatWorker(worker({ id: 'big', capacity: { cpu: 96 } }));
        expect(await store.sweepWorkers({ forgetMs: 60_000 })).toMatchObject({ placeable: 1 });
        expect((await store.getJob(big))?.unplaceable).toBeNull();
      });
    });
  });
}
