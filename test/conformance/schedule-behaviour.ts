import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type Client, createClient } from '../../src/client/client.js';
import type { ScheduleDefinition } from '../../src/client/schedules.js';
import { type Coordinator, createCoordinator } from '../../src/coordinator/coordinator.js';
import { createFakeClock, type FakeClock } from '../../src/core/clock.js';
import { ConflictError, NotFoundError, ValidationError } from '../../src/core/errors.js';
import type { ClaimedJob } from '../../src/core/job.js';
import { createFlow } from '../../src/flow/builder.js';
import type { Store } from '../../src/store/types.js';
import { defineTask } from '../../src/task/define.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const report = defineTask({
  name: 'report',
  input: z.object({
    day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
    at: z.string().optional(),
    partition: z.string().optional(),
  }),
  run: () => null,
});

/**
 * Schedules end to end (client, coordinator, store) with an injected clock: each backend's test
 * file calls this with a factory that makes a fresh, empty store on that clock. Jobs are driven
 * through the store (claimed and completed by hand), so "still running" and "ended" are exact.
 */
export function describeScheduleBehaviour(
  name: string,
  makeStore: (clock: FakeClock) => Promise<Store>,
): void {
  describe(`schedules: ${name}`, () => {
    let clock: FakeClock;
    let store: Store;
    let client: Client;
    let coordinator: Coordinator;
    const claimed = new Map<string, ClaimedJob>();

    beforeEach(async () => {
      clock = createFakeClock(Date.parse('2026-11-23T10:00:00Z'));
      store = await makeStore(clock);
      client = createClient({ store, tasks: [report], clock });
      coordinator = createCoordinator(store, { clock, logger: quiet, id: 'c1' });
      claimed.clear();
    });
    afterEach(async () => {
      await coordinator.stop();
      await client.close();
      await store.close();
    });

    const at = (iso: string) => clock.set(Date.parse(iso));
    const tick = () => coordinator.tick();
    const define = (over: Partial<ScheduleDefinition> = {}): ScheduleDefinition => ({
      name: 'daily',
      task: report,
      input: { day: '{{ date }}', at: '{{ fireTime }}' },
      trigger: { every: '1m' },
      ...over,
    });
    const runs = async (schedule = 'daily') =>
      (await client.scheduleRuns(schedule, { limit: 500 })).runs.reverse();
    /** Claims every pending job: they are running until `finish`. */
    const start = async () => {
      const jobs = await store.claimJobs({
        workerId: 'w1',
        queues: ['default'],
        tasks: ['report'],
        limit: 500,
        leaseMs: 3_600_000,
      });
      for (const j of jobs) claimed.set(j.id, j);
      return jobs;
    };
    const finish = async (ids: string[], outcome: 'succeeded' | 'failed' = 'succeeded') => {
      await store.completeJobs({
        completions: ids.map((id) => {
          const job = claimed.get(id);
          if (!job) throw new Error(`job ${id} was not started`);
          claimed.delete(id);
          return outcome === 'succeeded'
            ? { id, attempt: job.attempt, workerId: 'w1', outcome, output: null }
            : {
                id,
                attempt: job.attempt,
                workerId: 'w1',
                outcome,
                error: { name: 'Error', message: 'boom' },
                retryDelayMs: null,
              };
        }),
      });
    };

    it('fires each fire time once, with the placeholders filled in', async () => {
      const created = await client.createSchedule(define());
      expect(created.nextFireTimes.slice(0, 2).map((t) => new Date(t).toISOString())).toEqual([
        '2026-11-23T10:00:00.000Z',
        '2026-11-23T10:01:00.000Z',
      ]);
      at('2026-11-23T10:00:00.200Z');
      await tick();
      await tick();
      at('2026-11-23T10:01:00.100Z');
      await tick();
      const list = await runs();
      expect(list.map((r) => [r.kind, new Date(r.fireTime as number).toISOString(), r.state])).toEqual([
        ['fire', '2026-11-23T10:00:00.000Z', 'pending'],
        ['fire', '2026-11-23T10:01:00.000Z', 'pending'],
      ]);
      const job = await client.get(list[0]?.jobId as string);
      expect(job.input).toEqual({ day: '2026-11-23', at: '2026-11-23T10:00:00.000Z' });
      expect((await client.getSchedule('daily')).fireCount).toBe(2);
    });

    it('validates the definition and previews fire times', async () => {
      await expect(client.createSchedule(define({ trigger: { cron: '99 * * * *' } }))).rejects.toThrow(
        /trigger\.cron: invalid cron/,
      );
      await expect(client.createSchedule(define({ input: { day: 'yesterday' } }))).rejects.toThrow(
        ValidationError,
      );
      await expect(client.createSchedule(define({ input: { day: '{{ dat }}' } }))).rejects.toThrow(
        /unknown placeholder/,
      );
      await client.createSchedule(define());
      await expect(client.createSchedule(define())).rejects.toThrow(ConflictError);
      await expect(client.getSchedule('nope')).rejects.toThrow(NotFoundError);
      const times = await client.nextFireTimes(
        { cron: '0 0 2 * * *', timezone: 'Europe/Berlin' },
        { count: 2 },
      );
      expect(times.map((t) => new Date(t).toISOString())).toEqual([
        '2026-11-24T01:00:00.000Z',
        '2026-11-25T01:00:00.000Z',
      ]);
    });

    it('pause stops firing; resume applies the misfire policy to what was missed', async () => {
      await client.createSchedule(define({ misfire: 'skip', misfireGrace: '30s' }));
      await client.pauseSchedule('daily');
      at('2026-11-23T10:05:10Z');
      await tick();
      expect(await runs()).toEqual([]);
      await client.resumeSchedule('daily');
      await tick();
      // 10:00-10:04 were missed by more than 30 s and skipped; 10:05 is 10 s late, so it runs.
      expect((await runs()).map((r) => new Date(r.fireTime as number).toISOString())).toEqual([
        '2026-11-23T10:05:00.000Z',
      ]);
      const events = (await client.scheduleEvents('daily')).map((e) => e.type);
      expect(events).toEqual(['created', 'paused', 'resumed', 'misfired']);
      await expect(client.resumeSchedule('daily')).rejects.toThrow(ConflictError);
    });

    it('misfire after the coordinator was down: fire_once runs one, catch_up runs each', async () => {
      await client.createSchedule(define({ name: 'once', misfire: 'fire_once' }));
      await client.createSchedule(define({ name: 'each', misfire: 'catch_up', maxCatchUp: 4 }));
      at('2026-11-23T10:10:30Z');
      await tick();
      const fired = (list: Awaited<ReturnType<typeof runs>>) =>
        list.map((r) => new Date(r.fireTime as number).toISOString().slice(11, 16));
      // 10:10 is within the grace (1 m) in both; 10:00-10:09 were missed.
      expect(fired(await runs('once'))).toEqual(['10:09', '10:10']);
      expect(fired(await runs('each'))).toEqual(['10:06', '10:07', '10:08', '10:09', '10:10']);
    });

    it('overlap: skip, queue and cancel_previous while the previous run is going', async () => {
      for (const overlap of ['skip', 'queue', 'cancel_previous'] as const)
        await client.createSchedule(define({ name: overlap, overlap }));
      at('2026-11-23T10:00:00Z');
      await tick();
      await start();
      at('2026-11-23T10:01:00Z');
      await tick();
      expect((await runs('skip')).length).toBe(1);
      expect((await runs('queue')).length).toBe(1);
      const cancelled = await runs('cancel_previous');
      expect(cancelled.map((r) => r.state)).toEqual(['running', 'pending']);
      expect((await client.get(cancelled[0]?.jobId as string)).cancelRequested).toBe(true);
      // The queued fire time runs once the previous run ends, late but with its own fire time.
      const [queued] = await runs('queue');
      await finish([queued?.jobId as string]);
      at('2026-11-23T10:01:30Z');
      await tick();
      expect(
        (await runs('queue')).map((r) => new Date(r.fireTime as number).toISOString().slice(11, 16)),
      ).toEqual(['10:00', '10:01']);
      expect((await client.scheduleEvents('skip')).map((e) => e.type)).toContain('overlap_skipped');
    });

    it('run now: an instant run that is not a fire time', async () => {
      await client.createSchedule(define({ trigger: { every: '1d' } }));
      const run = await client.runScheduleNow('daily');
      expect(run.kind).toBe('now');
      expect(run.state).toBe('pending');
      expect((await client.get(run.jobId as string)).input).toEqual({
        day: '2026-11-23',
        at: '2026-11-23T10:00:00.000Z',
      });
      expect((await client.getSchedule('daily')).fireCount).toBe(0);
    });

    it('completes after maxRuns fire times', async () => {
      await client.createSchedule(define({ maxRuns: 3 }));
      for (const t of ['10:00', '10:01', '10:02', '10:03', '10:04']) {
        at(`2026-11-23T${t}:00.5Z`);
        await tick();
      }
      expect((await runs()).length).toBe(3);
      const schedule = await client.getSchedule('daily');
      expect(schedule.state).toBe('completed');
      expect(schedule.nextFireTimes).toEqual([]);
      expect((await client.scheduleEvents('daily')).at(-1)?.type).toBe('completed');
    });

    it('a continuous job is started again each time it exits, after the backoff', async () => {
      await client.createSchedule(
        define({
          input: { day: '{{ date }}' },
          trigger: { continuous: true, backoff: '5s', maxBackoff: '1m' },
        }),
      );
      await tick();
      const [first] = await start();
      await tick();
      expect((await runs()).length).toBe(1);
      clock.advance(30_000);
      await finish([first?.id as string], 'failed');
      await tick();
      expect((await runs()).length).toBe(1); // backoff not over
      clock.advance(5_000);
      await tick();
      const list = await runs();
      expect(list.map((r) => [r.key, r.kind])).toEqual([
        ['c:1', 'continuous'],
        ['c:2', 'continuous'],
      ]);
      await client.pauseSchedule('daily');
      await start();
      await finish([list[1]?.jobId as string]);
      clock.advance(60_000);
      await tick();
      expect((await runs()).length).toBe(2); // paused: not restarted
    });

    it('datasets: fires once per partition, only when every dataset has it', async () => {
      await client.createSchedule(
        define({
          input: { day: '{{ partition }}', partition: '{{ partition }}' },
          trigger: { datasets: ['raw_events', 'users'] },
        }),
      );
      expect((await client.markAvailable('raw_events', '2026-11-22')).created).toBe(true);
      await tick();
      expect(await runs()).toEqual([]);
      await client.markAvailable('users', '2026-11-22', { rows: 10 });
      await tick();
      expect((await client.markAvailable('users', '2026-11-22')).created).toBe(false);
      await tick();
      const list = await runs();
      expect(list.map((r) => [r.kind, r.partition])).toEqual([['partition', '2026-11-22']]);
      expect((await client.get(list[0]?.jobId as string)).input).toEqual({
        day: '2026-11-22',
        partition: '2026-11-22',
      });
      const { partitions } = await client.listPartitions('users');
      expect(partitions[0]).toMatchObject({ partition: '2026-11-22', metadata: { rows: 10 } });
      expect(partitions[0]?.runs.map((r) => r.scheduleName)).toEqual(['daily']);
      expect((await client.listDatasets()).map((d) => [d.name, d.partitions])).toEqual([
        ['raw_events', 1],
        ['users', 1],
      ]);
    });

    it('backfill of 30 days, 3 at once, not repeating runs that exist', async () => {
      await client.createSchedule(define({ trigger: { every: '1d', reference: '2026-01-01T02:00:00Z' } }));
      const drive = async (id: string, maxActive: { n: number }) => {
        for (let round = 0; round < 100; round++) {
          await tick();
          const jobs = await start();
          const active = (await store.listScheduleRuns({ backfillId: id, active: true, limit: 100 })).runs
            .length;
          maxActive.n = Math.max(maxActive.n, active);
          await finish(jobs.map((j) => j.id));
          if ((await client.getBackfill(id)).state === 'finished') return;
        }
        throw new Error('backfill did not finish in 100 rounds');
      };
      const first = await client.backfill('daily', {
        from: '2026-10-10T00:00:00Z',
        to: '2026-10-14T23:00:00Z',
        concurrency: 2,
      });
      expect(first.total).toBe(5);
      await drive(first.id, { n: 0 });
      const max = { n: 0 };
      const month = await client.backfill('daily', {
        from: '2026-10-01T00:00:00Z',
        to: '2026-10-30T23:00:00Z',
        concurrency: 3,
      });
      expect(month.total).toBe(30);
      await drive(month.id, max);
      const done = await client.getBackfill(month.id);
      expect(done).toMatchObject({ state: 'finished', created: 25, skipped: 5 });
      expect(max.n).toBeLessThanOrEqual(3);
      const all = await runs();
      expect(all.length).toBe(30);
      expect(new Set(all.map((r) => r.fireTime)).size).toBe(30);
      expect(all.every((r) => r.state === 'succeeded')).toBe(true);
    });

    it('a cancelled backfill stops and cancels its runs', async () => {
      await client.createSchedule(define({ trigger: { every: '1d' } }));
      const b = await client.backfill('daily', {
        from: '2026-10-01T00:00:00Z',
        to: '2026-10-30T00:00:00Z',
        concurrency: 3,
      });
      await tick();
      expect((await runs()).length).toBe(3);
      const cancelled = await client.cancelBackfill(b.id);
      expect(cancelled.state).toBe('cancelled');
      await tick();
      const list = await runs();
      expect(list.length).toBe(3);
      expect(list.every((r) => r.state === 'cancelled')).toBe(true);
    });

    it('two coordinators firing at once cannot double-fire', async () => {
      for (let i = 0; i < 20; i++)
        await client.createSchedule(define({ name: `s${i}`, trigger: { every: '1s' } }));
      const { fireDueSchedules } = await import('../../src/schedule/fire.js');
      for (let s = 0; s < 5; s++) {
        clock.advance(1000);
        const now = await store.now();
        await Promise.all([fireDueSchedules(store, now, quiet), fireDueSchedules(store, now, quiet)]);
      }
      for (let i = 0; i < 20; i++) {
        const list = await runs(`s${i}`);
        expect(new Set(list.map((r) => r.key)).size).toBe(list.length);
        expect(list.length).toBe(6);
      }
    });

    it('a flow schedule starts a flow per fire time', async () => {
      await client.createSchedule({
        name: 'pipeline',
        flow: { name: 'nightly', steps: [{ name: 'extract', task: 'report', input: { day: '{{ date }}' } }] },
        trigger: { every: '1h' },
      });
      await tick();
      const [run] = await runs('pipeline');
      expect(run?.flowId).toBeTruthy();
      const flow = await client.getFlow(run?.flowId as string);
      expect(flow.state).toBe('running');
      const jobs = await client.list({ flow: flow.id });
      expect(jobs.jobs[0]?.input).toEqual({ day: '2026-11-23' });
    });

    it('a flow schedule accepts a flow builder, stored as its spec', async () => {
      const f = createFlow('built');
      const first = f.step('report', { day: '{{ date }}' }, { name: 'extract' });
      f.step('report', { day: '{{ date }}' }, { name: 'load', after: [first] });
      const created = await client.createSchedule({ name: 'built', flow: f, trigger: { every: '1h' } });
      expect(created.target).toMatchObject({ kind: 'flow', flow: { spec: f.toSpec() } });
      await tick();
      const [run] = await runs('built');
      expect((await client.getFlow(run?.flowId as string)).state).toBe('running');
    });
  });
}
