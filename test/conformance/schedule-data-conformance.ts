import { beforeEach, describe, expect, it } from 'vitest';
import type { FakeClock } from '../../src/core/clock.js';
import { ConflictError, type NotFoundError } from '../../src/core/errors.js';
import type { Store } from '../../src/store/types.js';
import { errorOf, scheduleHarness, twoSteps } from './schedule-fixtures.js';

/** Schedule runs, dataset partitions and backfills (part of `describeScheduleConformance`). */
export function describeScheduleDataConformance(
  name: string,
  makeStore: (clock: FakeClock) => Promise<Store>,
): void {
  describe(`schedule conformance (runs, datasets, backfills): ${name}`, () => {
    const h = scheduleHarness(makeStore);
    const { schedule, jobRun, fire, claim, succeed, eventTypes } = h;
    let store: Store;
    let clock: FakeClock;
    let t0: number;
    beforeEach(() => {
      ({ store, clock, t0 } = h);
    });

    describe('runs', () => {
      it('follows the active runs of a schedule as their jobs and flows end', async () => {
        const s = await store.insertSchedule(schedule());
        const other = await store.insertSchedule(schedule({ name: 'other' }));
        await fire({ scheduleId: s.id, runs: [jobRun('t:1'), jobRun('t:2')] });
        await fire({ scheduleId: other.id, runs: [jobRun('t:1')] });
        const active = await store.activeScheduleRuns([s.id]);
        expect(active.map((r) => [r.key, r.state, r.scheduleName])).toEqual([
          ['t:1', 'pending', 'nightly'],
          ['t:2', 'pending', 'nightly'],
        ]);
        const [first] = await store.claimJobs({
          workerId: 'w1',
          queues: ['default'],
          tasks: ['t'],
          limit: 1,
          leaseMs: 10_000,
        });
        expect((await store.activeScheduleRuns([s.id])).map((r) => r.state).sort()).toEqual([
          'pending',
          'running',
        ]);
        await succeed([first!]);
        expect((await store.activeScheduleRuns([s.id, other.id])).length).toBe(2);
        expect((await store.listScheduleRuns({ scheduleId: s.id, active: true })).runs).toHaveLength(1);
        // Flows are active until they finish.
        const f = await fire({
          scheduleId: s.id,
          runs: [{ ...jobRun('n:f', { kind: 'now' }), target: { kind: 'flow', flow: twoSteps } }],
        });
        const flowId = f.runs[0]!.flowId!;
        await succeed(await claim());
        expect((await store.activeScheduleRuns([s.id])).map((r) => r.flowId)).toContain(flowId);
        await succeed(await claim());
        await succeed(await claim());
        expect(await store.getFlow(flowId)).toMatchObject({ state: 'succeeded' });
        expect((await store.listScheduleRuns({ scheduleId: s.id, active: true })).runs).toEqual([]);
        expect(await store.activeScheduleRuns([s.id])).toEqual([]);
        expect(await store.activeScheduleRuns([])).toEqual([]);
      });

      it('lists runs newest first with their state now, deleted after retention', async () => {
        const s = await store.insertSchedule(schedule());
        for (const k of ['t:1', 't:2', 't:3']) {
          await fire({ scheduleId: s.id, runs: [jobRun(k, { fireTime: Number(k.slice(2)) })] });
          clock.advance(10);
        }
        const p1 = await store.listScheduleRuns({ scheduleId: s.id, limit: 2 });
        expect(p1.runs.map((r) => r.key)).toEqual(['t:3', 't:2']);
        const p2 = await store.listScheduleRuns({ scheduleId: s.id, limit: 2, cursor: p1.nextCursor! });
        expect(p2.runs.map((r) => r.key)).toEqual(['t:1']);
        expect(p2.nextCursor).toBeNull();
        expect(p2.runs[0]).toMatchObject({
          scheduleId: s.id,
          scheduleName: 'nightly',
          kind: 'fire',
          fireTime: 1,
          createdAt: t0,
          state: 'pending',
          startedAt: null,
          finishedAt: null,
        });
        const claimed = await store.claimJobs({
          workerId: 'w1',
          queues: ['default'],
          tasks: ['t'],
          limit: 1,
          leaseMs: 10_000,
        });
        clock.advance(5);
        await succeed(claimed);
        const done = (await store.listScheduleRuns({ scheduleId: s.id })).runs.find(
          (r) => r.jobId === claimed[0]!.id,
        )!;
        expect(done).toMatchObject({
          key: 't:1',
          state: 'succeeded',
          startedAt: t0 + 30,
          finishedAt: t0 + 35,
        });
        clock.advance(1000);
        expect(await store.deleteFinishedJobs({ before: clock.now(), limit: 100 })).toBe(1);
        const after = await store.listScheduleRuns({ scheduleId: s.id });
        expect(after.runs.map((r) => r.state)).toEqual(['pending', 'pending', 'deleted']);
        expect(after.runs[2]!.jobId).toBe(claimed[0]!.id);
        expect((await store.listScheduleRuns({})).runs).toHaveLength(3);
        // The key stays taken after its job is gone.
        expect((await fire({ scheduleId: s.id, runs: [jobRun('t:1')] })).runs[0]!.created).toBe(false);
      });
    });

    describe('datasets', () => {
      it('marks a partition once and wakes the active schedules that watch it', async () => {
        const watcher = await store.insertSchedule(
          schedule({ name: 'a', trigger: { type: 'datasets', datasets: ['raw'] }, wakeAt: null }),
        );
        await store.insertSchedule(
          schedule({
            name: 'b',
            trigger: { type: 'datasets', datasets: ['raw'] },
            state: 'paused',
            wakeAt: null,
          }),
        );
        await store.insertSchedule(
          schedule({
            name: 'c',
            trigger: { type: 'datasets', datasets: ['raw', 'users'] },
            wakeAt: t0 + 10_000,
          }),
        );
        await store.insertSchedule(
          schedule({ name: 'd', trigger: { type: 'datasets', datasets: ['users'] }, wakeAt: null }),
        );
        await store.insertSchedule(
          schedule({ name: 'e', trigger: { type: 'datasets', datasets: ['raw'] }, wakeAt: t0 - 5 }),
        );
        clock.advance(100);
        const m = await store.markPartition('raw', '2026-11-22', { rows: 10 });
        expect(m).toEqual({
          created: true,
          partition: { dataset: 'raw', partition: '2026-11-22', metadata: { rows: 10 }, markedAt: t0 + 100 },
        });
        const wake = async (n: string) => (await store.getSchedule(n))!.wakeAt;
        expect([await wake('a'), await wake('b'), await wake('c'), await wake('d'), await wake('e')]).toEqual(
          [t0 + 100, null, t0 + 100, null, t0 - 5],
        );
        // A fire computed before the mark must not clear its wake: the mark moves the version on.
        expect((await store.getSchedule('a'))!.version).toBeGreaterThan(watcher.version);
        await store.updateSchedule('a', { wakeAt: null }, { type: 'updated', data: null });
        clock.advance(100);
        const again = await store.markPartition('raw', '2026-11-22', { rows: 99 });
        expect(again).toEqual({ created: false, partition: m.partition });
        expect(await wake('a')).toBeNull();
      });

      it('lists datasets and their partitions with the runs they triggered', async () => {
        const s = await store.insertSchedule(schedule({ trigger: { type: 'datasets', datasets: ['raw'] } }));
        const blind = await store.insertSchedule(schedule({ name: 'blind' }));
        for (const p of ['p1', 'p2', 'p3']) {
          await store.markPartition('raw', p, null);
          clock.advance(10);
        }
        await store.markPartition('users', 'p1', null);
        expect(await store.listDatasets()).toEqual([
          { name: 'raw', partitions: 3, lastMarkedAt: t0 + 20 },
          { name: 'users', partitions: 1, lastMarkedAt: t0 + 30 },
        ]);
        await fire({ scheduleId: s.id, runs: [jobRun('p:p1', { kind: 'partition', partition: 'p1' })] });
        await fire({ scheduleId: blind.id, runs: [jobRun('p:p1', { kind: 'partition', partition: 'p1' })] });
        const page1 = await store.listPartitions('raw', { limit: 2 });
        expect(page1.partitions.map((p) => p.partition)).toEqual(['p3', 'p2']);
        const page2 = await store.listPartitions('raw', { limit: 2, cursor: page1.nextCursor! });
        expect(page2.partitions.map((p) => p.partition)).toEqual(['p1']);
        expect(page2.nextCursor).toBeNull();
        expect(page2.partitions[0]!.runs.map((r) => [r.scheduleName, r.key])).toEqual([['nightly', 'p:p1']]);
        expect(page1.partitions[0]!.runs).toEqual([]);
      });

      it('finds partitions every dataset has marked, since a time, without a run', async () => {
        const s = await store.insertSchedule(
          schedule({ trigger: { type: 'datasets', datasets: ['raw', 'users'] } }),
        );
        const req = { scheduleId: s.id, datasets: ['raw', 'users'], since: 0, limit: 10 };
        await store.markPartition('raw', 'p3', null);
        clock.advance(10);
        await store.markPartition('raw', 'p1', null);
        await store.markPartition('raw', 'p2', null);
        clock.advance(10);
        await store.markPartition('users', 'p1', null); // p1 complete at t0 + 20
        expect(await store.readyPartitions(req)).toEqual(['p1']);
        clock.advance(10);
        await store.markPartition('users', 'p3', null); // p3 complete at t0 + 30
        expect(await store.readyPartitions(req)).toEqual(['p1', 'p3']);
        expect(await store.readyPartitions({ ...req, limit: 1 })).toEqual(['p1']);
        expect(await store.readyPartitions({ ...req, since: t0 + 21 })).toEqual(['p3']);
        expect(await store.readyPartitions({ ...req, datasets: ['raw'] })).toEqual(['p3', 'p1', 'p2']);
        await fire({ scheduleId: s.id, runs: [jobRun('p:p1', { kind: 'partition', partition: 'p1' })] });
        expect(await store.readyPartitions(req)).toEqual(['p3']);
        const other = await store.insertSchedule(schedule({ name: 'other' }));
        expect(await store.readyPartitions({ ...req, scheduleId: other.id })).toEqual(['p1', 'p3']);

        const range = { datasets: ['raw', 'users'], from: 'p1', to: 'p3', limit: 10 };
        expect(await store.completePartitions(range)).toEqual(['p1', 'p3']);
        expect(await store.completePartitions({ ...range, from: 'p2' })).toEqual(['p3']);
        expect(await store.completePartitions({ ...range, to: 'p2' })).toEqual(['p1']);
        expect(await store.completePartitions({ ...range, limit: 1 })).toEqual(['p1']);
      });
    });

    describe('backfills', () => {
      it('inserts, counts its runs by state, moves on and finishes', async () => {
        const s = await store.insertSchedule(schedule());
        const b = await store.insertBackfill({
          scheduleId: s.id,
          from: t0,
          to: t0 + 3000,
          partitions: null,
          concurrency: 2,
          total: 4,
        });
        expect(b).toMatchObject({
          scheduleId: s.id,
          scheduleName: 'nightly',
          state: 'running',
          from: t0,
          to: t0 + 3000,
          partitions: null,
          concurrency: 2,
          total: 4,
          cursor: null,
          created: 0,
          skipped: 0,
          runs: {},
          createdAt: t0,
          finishedAt: null,
        });
        const started = (await store.getScheduleEvents('nightly')).at(-1)!;
        expect(started).toMatchObject({
          type: 'backfill_started',
          data: { id: b.id, from: t0, to: t0 + 3000, total: 4, concurrency: 2 },
        });
        const runs = [0, 1000].map((t) =>
          jobRun(`t:${t0 + t}`, { kind: 'backfill', fireTime: t0 + t, backfillId: b.id }),
        );
        await fire({ scheduleId: s.id, runs });
        await succeed((await claim(1)).slice(0, 1));
        expect((await store.getBackfill(b.id))!.runs).toEqual({ succeeded: 1, pending: 1 });
        expect((await store.listScheduleRuns({ backfillId: b.id })).runs).toHaveLength(2);
        await store.updateBackfill(b.id, { cursor: String(t0 + 1000), created: 2, skipped: 1 });
        const moved = await store.updateBackfill(b.id, { created: 1 });
        expect(moved).toMatchObject({ cursor: String(t0 + 1000), created: 3, skipped: 1, state: 'running' });
        clock.advance(50);
        const done = await store.updateBackfill(b.id, { state: 'finished' });
        expect(done).toMatchObject({ state: 'finished', finishedAt: t0 + 50 });
        expect(await eventTypes('nightly')).toEqual(['created', 'backfill_started', 'backfill_finished']);
        expect(await errorOf(store.updateBackfill(b.id, { created: 1 }))).toBeInstanceOf(ConflictError);
        const second = await store.insertBackfill({
          scheduleId: s.id,
          from: null,
          to: null,
          partitions: ['p1', 'p2'],
          concurrency: 1,
          total: 2,
        });
        expect(second.partitions).toEqual(['p1', 'p2']);
        expect(await store.updateBackfill(second.id, { state: 'cancelled' })).toMatchObject({
          state: 'cancelled',
          finishedAt: t0 + 50,
        });
        expect((await eventTypes('nightly')).at(-1)).toBe('backfill_cancelled');
        expect((await store.listBackfills({ scheduleId: s.id })).map((x) => x.id)).toEqual([second.id, b.id]);
        expect((await store.listBackfills({ state: 'finished' })).map((x) => x.id)).toEqual([b.id]);
        expect((await store.listBackfills({ limit: 1 })).map((x) => x.id)).toEqual([second.id]);
        expect(await store.getBackfill('999999')).toBeNull();
        const missing = await errorOf(store.updateBackfill('999999', { created: 1 }));
        expect((missing as NotFoundError).code).toBe('BACKFILL_NOT_FOUND');
      });
    });
  });
}
