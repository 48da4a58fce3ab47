import { beforeEach, describe, expect, it } from 'vitest';
import type { FakeClock } from '../../src/core/clock.js';
import { ConflictError, NotFoundError } from '../../src/core/errors.js';
import type { ScheduleFire, Trigger } from '../../src/schedule/types.js';
import type { Store, StoreNotification } from '../../src/store/types.js';
import { describeScheduleDataConformance } from './schedule-data-conformance.js';
import { cron, errorOf, scheduleHarness, template, twoSteps } from './schedule-fixtures.js';

/**
 * Schedules, their runs, dataset partitions and backfills as every store must keep them. Each
 * backend's test file calls this with a factory that makes a fresh, empty store on the given clock.
 */
export function describeScheduleConformance(
  name: string,
  makeStore: (clock: FakeClock) => Promise<Store>,
): void {
  describe(`schedule conformance: ${name}`, () => {
    const h = scheduleHarness(makeStore);
    const { schedule, jobRun, fire, claim, eventTypes } = h;
    let store: Store;
    let clock: FakeClock;
    let t0: number;
    beforeEach(() => {
      ({ store, clock, t0 } = h);
    });

    describe('schedules', () => {
      it('inserts, reads by name and id, and refuses a taken name', async () => {
        const s = await store.insertSchedule(schedule({ metadata: { team: 'data' }, description: 'd' }));
        expect(s).toMatchObject({
          name: 'nightly',
          description: 'd',
          target: { kind: 'job', job: template },
          trigger: cron,
          state: 'active',
          nextFireAt: t0 + 1000,
          wakeAt: t0 + 1000,
          fireCount: 0,
          lastFireAt: null,
          runtime: {},
          metadata: { team: 'data' },
          version: 1,
          createdAt: t0,
          updatedAt: t0,
        });
        expect(await store.getSchedule('nightly')).toEqual(s);
        expect(await store.getScheduleById(s.id)).toEqual(s);
        expect(await store.getSchedule('other')).toBeNull();
        expect(await store.getScheduleById('999999')).toBeNull();
        expect(await store.getScheduleById('nope')).toBeNull();
        const err = await errorOf(store.insertSchedule(schedule()));
        expect(err).toBeInstanceOf(ConflictError);
        expect((err as Error).message).toMatch(/nightly.*already exists/);
        expect(await eventTypes('nightly')).toEqual(['created']);
      });

      it('lists by name with filters and a cursor', async () => {
        const interval: Trigger = { type: 'interval', everyMs: 60_000, referenceMs: t0 };
        for (const n of ['b', 'a', 'e', 'd', 'c'])
          await store.insertSchedule(
            schedule({ name: n, state: n === 'd' ? 'paused' : 'active', trigger: n < 'c' ? interval : cron }),
          );
        const p1 = await store.listSchedules({ limit: 2 });
        expect(p1.schedules.map((s) => s.name)).toEqual(['a', 'b']);
        const p2 = await store.listSchedules({ limit: 2, cursor: p1.nextCursor! });
        expect(p2.schedules.map((s) => s.name)).toEqual(['c', 'd']);
        const p3 = await store.listSchedules({ limit: 2, cursor: p2.nextCursor! });
        expect(p3.schedules.map((s) => s.name)).toEqual(['e']);
        expect(p3.nextCursor).toBeNull();
        expect((await store.listSchedules({})).schedules).toHaveLength(5);
        expect((await store.listSchedules({ state: 'paused' })).schedules.map((s) => s.name)).toEqual(['d']);
        expect((await store.listSchedules({ triggerType: 'interval' })).schedules.map((s) => s.name)).toEqual(
          ['a', 'b'],
        );
      });

      it('updates only the given fields, records the event and bumps the version', async () => {
        await store.insertSchedule(schedule());
        clock.advance(500);
        const u = await store.updateSchedule(
          'nightly',
          { description: 'paused for a fix', state: 'paused', wakeAt: null },
          { type: 'paused', data: { by: 'ops' } },
        );
        expect(u).toMatchObject({
          description: 'paused for a fix',
          state: 'paused',
          wakeAt: null,
          nextFireAt: t0 + 1000,
          trigger: cron,
          version: 2,
          createdAt: t0,
          updatedAt: t0 + 500,
        });
        const same = await store.updateSchedule('nightly', {}, { type: 'updated', data: null });
        expect(same).toEqual({ ...u, version: 3 });
        const r = await store.updateSchedule(
          'nightly',
          { state: 'active', runtime: { streak: 1 }, metadata: { a: 1 } },
          { type: 'resumed', data: null },
          { expectedVersion: 3 },
        );
        expect(r).toMatchObject({ state: 'active', runtime: { streak: 1 }, metadata: { a: 1 }, version: 4 });
        const events = await store.getScheduleEvents('nightly');
        expect(events.map((e) => e.type)).toEqual(['created', 'paused', 'updated', 'resumed']);
        expect(events[1]).toMatchObject({ scheduleId: u.id, at: t0 + 500, data: { by: 'ops' } });
        expect(
          (await store.getScheduleEvents('nightly', { afterId: events[1]!.id, limit: 1 })).map((e) => e.type),
        ).toEqual(['updated']);
      });

      it('refuses a stale expected version and an unknown name', async () => {
        await store.insertSchedule(schedule());
        const stale = await errorOf(
          store.updateSchedule(
            'nightly',
            { state: 'paused' },
            { type: 'paused', data: null },
            { expectedVersion: 7 },
          ),
        );
        expect(stale).toBeInstanceOf(ConflictError);
        expect((await store.getSchedule('nightly'))!).toMatchObject({ state: 'active', version: 1 });
        const missing = await errorOf(store.updateSchedule('nope', {}, { type: 'updated', data: null }));
        expect(missing).toBeInstanceOf(NotFoundError);
        expect((missing as NotFoundError).code).toBe('SCHEDULE_NOT_FOUND');
        expect(await errorOf(store.getScheduleEvents('nope'))).toBeInstanceOf(NotFoundError);
      });

      it('watches the datasets of its trigger as the trigger changes', async () => {
        const s = await store.insertSchedule(schedule({ wakeAt: null }));
        await store.markPartition('raw', 'p1', null);
        expect((await store.getSchedule('nightly'))!.wakeAt).toBeNull();
        await store.updateSchedule(
          'nightly',
          { trigger: { type: 'datasets', datasets: ['raw'] } },
          { type: 'updated', data: null },
        );
        expect((await store.listSchedules({ triggerType: 'datasets' })).schedules.map((x) => x.id)).toEqual([
          s.id,
        ]);
        clock.advance(10);
        await store.markPartition('raw', 'p2', null);
        expect((await store.getSchedule('nightly'))!.wakeAt).toBe(t0 + 10);
        await store.updateSchedule(
          'nightly',
          { trigger: cron, wakeAt: null },
          { type: 'updated', data: null },
        );
        await store.markPartition('raw', 'p3', null);
        expect((await store.getSchedule('nightly'))!.wakeAt).toBeNull();
      });

      it('deletes a schedule with its events, runs and backfills, but not its jobs', async () => {
        const s = await store.insertSchedule(schedule({ trigger: { type: 'datasets', datasets: ['raw'] } }));
        const { runs } = await fire({ scheduleId: s.id, runs: [jobRun('n:1', { kind: 'now' })] });
        await store.insertBackfill({
          scheduleId: s.id,
          from: t0,
          to: t0 + 10,
          partitions: null,
          concurrency: 1,
          total: 1,
        });
        expect(await store.deleteSchedule('nightly')).toBe(true);
        expect(await store.deleteSchedule('nightly')).toBe(false);
        expect(await store.getSchedule('nightly')).toBeNull();
        expect(await store.getJob(runs[0]!.jobId!)).toMatchObject({ state: 'pending' });
        expect((await store.listScheduleRuns({ scheduleId: s.id })).runs).toEqual([]);
        expect(await store.listBackfills({ scheduleId: s.id })).toEqual([]);
        const again = await store.insertSchedule(schedule());
        expect(await eventTypes('nightly')).toEqual(['created']);
        expect((await fire({ scheduleId: again.id, runs: [jobRun('n:1')] })).runs[0]!.created).toBe(true);
        expect((await store.markPartition('raw', 'p1', null)).created).toBe(true);
      });

      it('finds due schedules earliest first, and the next wake', async () => {
        expect(await store.nextScheduleWake()).toBeNull();
        await store.insertSchedule(schedule({ name: 'c', wakeAt: t0 + 300 }));
        await store.insertSchedule(schedule({ name: 'a', wakeAt: t0 + 100 }));
        await store.insertSchedule(schedule({ name: 'b', wakeAt: t0 + 200 }));
        await store.insertSchedule(schedule({ name: 'none', wakeAt: null }));
        await store.insertSchedule(schedule({ name: 'paused', state: 'paused', wakeAt: t0 + 50 }));
        expect(await store.nextScheduleWake()).toBe(t0 + 100);
        const due = await store.dueSchedules({ before: t0 + 250, limit: 10 });
        expect(due.map((s) => s.name)).toEqual(['a', 'b']);
        expect((await store.dueSchedules({ before: t0 + 250, limit: 1 })).map((s) => s.name)).toEqual(['a']);
        expect(await store.dueSchedules({ before: t0 + 99, limit: 10 })).toEqual([]);
      });
    });

    describe('firing', () => {
      it('creates a claimable job per run and advances the schedule', async () => {
        const s = await store.insertSchedule(schedule());
        clock.advance(1000);
        const result = await fire({
          scheduleId: s.id,
          runs: [jobRun(`t:${t0 + 1000}`, { fireTime: t0 + 1000 }, { day: '2026-11-23' })],
          advance: {
            version: 1,
            nextFireAt: t0 + 5000,
            wakeAt: t0 + 5000,
            fired: 1,
            lastFireAt: t0 + 1000,
            state: 'active',
            runtime: { streak: 2 },
          },
          events: [{ type: 'misfired', data: { missed: 1 } }],
        });
        expect(result).toMatchObject({
          scheduleId: s.id,
          applied: true,
          runs: [{ key: `t:${t0 + 1000}`, created: true, flowId: null }],
        });
        const jobId = result.runs[0]!.jobId!;
        const [claimed] = await claim();
        expect(claimed).toMatchObject({ id: jobId, task: 't', input: { day: '2026-11-23' } });
        expect(await store.getSchedule('nightly')).toMatchObject({
          version: 2,
          fireCount: 1,
          lastFireAt: t0 + 1000,
          nextFireAt: t0 + 5000,
          wakeAt: t0 + 5000,
          runtime: { streak: 2 },
          updatedAt: t0 + 1000,
        });
        expect(await eventTypes('nightly')).toEqual(['created', 'misfired']);
        const again = await fire({
          scheduleId: s.id,
          runs: [jobRun(`t:${t0 + 1000}`)],
          advance: {
            version: 2,
            nextFireAt: null,
            wakeAt: null,
            fired: 0,
            lastFireAt: t0 + 1000,
            state: 'completed',
          },
        });
        expect(again.applied).toBe(true);
        expect(again.runs[0]!.created).toBe(false);
        expect((await store.listJobs({})).jobs).toHaveLength(1);
        expect(await store.getSchedule('nightly')).toMatchObject({
          state: 'completed',
          version: 3,
          fireCount: 1,
          runtime: { streak: 2 },
        });
      });

      it('creates a flow whose first step is a job', async () => {
        const s = await store.insertSchedule(schedule({ target: { kind: 'flow', flow: twoSteps } }));
        const result = await fire({
          scheduleId: s.id,
          runs: [{ ...jobRun('n:x', { kind: 'now' }), target: { kind: 'flow', flow: twoSteps } }],
        });
        expect(result.runs[0]).toMatchObject({ created: true, jobId: null });
        const flowId = result.runs[0]!.flowId!;
        expect(await store.getFlow(flowId)).toMatchObject({ name: 'pipeline', state: 'running' });
        const steps = await store.getFlowSteps(flowId);
        const a = steps!.find((x) => x.name === 'a')!;
        expect(a.jobId).not.toBeNull();
        const claimed = await claim();
        expect(claimed.map((j) => j.id)).toEqual([a.jobId]);
        expect(claimed[0]!.flow).toMatchObject({ id: flowId, step: 'a' });
      });

      it('writes nothing for a fire whose fence fails', async () => {
        const s = await store.insertSchedule(schedule());
        const paused = await store.insertSchedule(schedule({ name: 'paused', state: 'paused' }));
        const advance = {
          version: 1,
          nextFireAt: t0 + 9000,
          wakeAt: t0 + 9000,
          fired: 1,
          lastFireAt: t0,
          state: 'active' as const,
        };
        const results = await store.fireSchedules([
          {
            scheduleId: s.id,
            runs: [jobRun('t:1')],
            advance: { ...advance, version: 5 },
            events: [{ type: 'misfired', data: null }],
          },
          { scheduleId: paused.id, runs: [jobRun('t:1')], advance },
          { scheduleId: '999999', runs: [jobRun('t:1')] },
          { scheduleId: paused.id, runs: [jobRun('n:1', { kind: 'now' })] },
        ]);
        expect(results.map((r) => [r.scheduleId, r.applied])).toEqual([
          [s.id, false],
          [paused.id, false],
          ['999999', false],
          [paused.id, true],
        ]);
        expect(await store.getSchedule('nightly')).toMatchObject({
          version: 1,
          fireCount: 0,
          nextFireAt: t0 + 1000,
        });
        expect(await eventTypes('nightly')).toEqual(['created']);
        expect((await store.listScheduleRuns({ scheduleId: s.id })).runs).toEqual([]);
        expect((await store.listJobs({})).jobs).toHaveLength(1);
        // Two fences of one version in one batch: only the first holds.
        const twice = await store.fireSchedules([
          { scheduleId: s.id, runs: [jobRun('t:1')], advance },
          { scheduleId: s.id, runs: [jobRun('t:2')], advance },
        ]);
        expect(twice.map((r) => r.applied)).toEqual([true, false]);
        expect((await store.listJobs({})).jobs).toHaveLength(2);
      });

      it('takes a key once even within one batch', async () => {
        const s = await store.insertSchedule(schedule());
        const [r] = await store.fireSchedules([
          { scheduleId: s.id, runs: [jobRun('t:1'), jobRun('t:1'), jobRun('t:2')] },
        ]);
        expect(r!.runs.map((x) => x.created)).toEqual([true, false, true]);
        expect((await store.listJobs({})).jobs).toHaveLength(2);
      });

      it('fires a batch of 1,000 schedules in one call, and wakes workers', async () => {
        const seen: StoreNotification[] = [];
        const unsubscribe = store.subscribe((n) => seen.push(n));
        const ids: string[] = [];
        for (let i = 0; i < 1000; i += 50) {
          const chunk = Array.from({ length: 50 }, (_, k) =>
            schedule({ name: `s${String(i + k).padStart(4, '0')}` }),
          );
          for (const s of await Promise.all(chunk.map((x) => store.insertSchedule(x)))) ids.push(s.id);
        }
        const fires: ScheduleFire[] = ids.map((id, i) => ({
          scheduleId: id,
          runs: [jobRun(`t:${t0 + 1000}`, { fireTime: t0 + 1000 }, { i })],
          advance: {
            version: 1,
            nextFireAt: t0 + 2000,
            wakeAt: t0 + 2000,
            fired: 1,
            lastFireAt: t0 + 1000,
            state: 'active',
          },
        }));
        const results = await store.fireSchedules(fires);
        expect(results.every((r) => r.applied && r.runs[0]!.created)).toBe(true);
        expect(results.map((r) => r.scheduleId)).toEqual(ids);
        expect(new Set(results.map((r) => r.runs[0]!.jobId)).size).toBe(1000);
        await expect
          .poll(() => seen.some((n) => n.type === 'jobs-available' || n.type === 'changed'))
          .toBe(true);
        unsubscribe();
        const claimed = await claim(1000);
        expect(claimed).toHaveLength(1000);
        expect(new Set(claimed.map((j) => (j.input as { i: number }).i)).size).toBe(1000);
        expect(await store.dueSchedules({ before: t0 + 1999, limit: 10 })).toEqual([]);
      }, 60_000);
    });
  });
  describeScheduleDataConformance(name, makeStore);
}
