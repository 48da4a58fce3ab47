import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freshSchema, PG_URL, pgAvailable } from '../../../test/pg.js';
import { createFakeClock } from '../../core/clock.js';
import { DEFAULT_RETRY } from '../../core/retry.js';
import type { NewSchedule, NewScheduleRun, ScheduleFire } from '../../schedule/types.js';
import type { NewJob, Store } from '../types.js';
import { createPostgresStore } from './store.js';

/**
 * What only PostgreSQL can show: two processes (two store instances, two pools) racing on one
 * schedule or one partition. The shared behaviour is in test/conformance/schedule-conformance.ts.
 */
const available = await pgAvailable();

const job = (input: unknown = null): NewJob => ({
  task: 'tick',
  queue: 'default',
  input,
  priority: 0,
  retry: DEFAULT_RETRY,
  timeoutMs: null,
  metadata: null,
  dedup: null,
});

const schedule = (name: string, over: Partial<NewSchedule> = {}): NewSchedule => ({
  name,
  description: null,
  target: { kind: 'job', job: { ...job(), input: { at: '{{ fireTime }}' } } },
  trigger: { type: 'interval', everyMs: 1000, referenceMs: 0 },
  policies: { misfire: 'skip', misfireGraceMs: 1000, maxCatchUp: 10, overlap: 'allow', maxRuns: null },
  state: 'active',
  nextFireAt: 1000,
  wakeAt: 1000,
  metadata: null,
  ...over,
});

const run = (fireTime: number): NewScheduleRun => ({
  key: `t:${fireTime}`,
  kind: 'fire',
  fireTime,
  partition: null,
  backfillId: null,
  target: { kind: 'job', job: job({ fireTime }) },
});

const fire = (scheduleId: string, version: number, fireTime: number): ScheduleFire => ({
  scheduleId,
  runs: [run(fireTime)],
  advance: {
    version,
    nextFireAt: fireTime + 1000,
    wakeAt: fireTime + 1000,
    fired: 1,
    lastFireAt: fireTime,
    state: 'active',
  },
});

describe.skipIf(!available)('postgres schedules: concurrent processes', () => {
  let a: Store;
  let b: Store;

  beforeEach(async () => {
    const schema = freshSchema();
    a = createPostgresStore({ connectionString: PG_URL, schema, maxConnections: 4 });
    b = createPostgresStore({ connectionString: PG_URL, schema, maxConnections: 4 });
    await a.now();
    await b.now();
  });
  afterEach(async () => {
    await a.close();
    await b.close();
  });

  it('applies one of two fires with the same fence, with one run and one job', async () => {
    for (let round = 0; round < 10; round++) {
      const s = await a.insertSchedule(schedule(`s${round}`));
      const [ra, rb] = await Promise.all([
        a.fireSchedules([fire(s.id, s.version, 1000)]),
        b.fireSchedules([fire(s.id, s.version, 1000)]),
      ]);
      const results = [ra?.[0], rb?.[0]];
      expect(results.filter((r) => r?.applied)).toHaveLength(1);
      expect(results.filter((r) => r?.runs[0]?.created)).toHaveLength(1);
      const { runs } = await a.listScheduleRuns({ scheduleId: s.id });
      expect(runs).toHaveLength(1);
      const jobs = await a.listJobs({ task: 'tick', limit: 1000 });
      expect(jobs.jobs.filter((j) => (j.input as { fireTime: number }).fireTime === 1000)).toHaveLength(
        round + 1,
      );
      const after = await a.getSchedule(s.name);
      expect(after).toMatchObject({
        version: s.version + 1,
        fireCount: 1,
        nextFireAt: 2000,
        lastFireAt: 1000,
      });
    }
  });

  it('never inserts a run key twice when unfenced fires race', async () => {
    const s = await a.insertSchedule(schedule('now'));
    const nowRun = (): ScheduleFire => ({
      scheduleId: s.id,
      runs: [{ ...run(5000), key: 'n:1', kind: 'now' }],
    });
    const [ra, rb] = await Promise.all([a.fireSchedules([nowRun()]), b.fireSchedules([nowRun()])]);
    const created = [ra?.[0]?.runs[0], rb?.[0]?.runs[0]];
    expect(created.filter((r) => r?.created)).toHaveLength(1);
    // Both name the one job.
    expect(created[0]?.jobId).toBe(created[1]?.jobId);
    expect((await a.listScheduleRuns({ scheduleId: s.id })).runs).toHaveLength(1);
  });

  it('marks a partition once when two processes mark it at once, and wakes its watchers', async () => {
    const s = await a.insertSchedule(
      schedule('watcher', {
        trigger: { type: 'datasets', datasets: ['raw', 'users'] },
        nextFireAt: null,
        wakeAt: null,
      }),
    );
    for (let i = 0; i < 10; i++) {
      const partition = `2026-11-${10 + i}`;
      const [ma, mb] = await Promise.all([
        a.markPartition('raw', partition, { by: 'a' }),
        b.markPartition('raw', partition, { by: 'b' }),
      ]);
      expect([ma.created, mb.created].filter(Boolean)).toHaveLength(1);
      expect(ma.partition).toEqual(mb.partition);
    }
    // Different partitions of both datasets at once: no deadlock, every mark kept.
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? a : b).markPartition(i % 4 < 2 ? 'raw' : 'users', `p${i}`, null),
      ),
    );
    const datasets = await a.listDatasets();
    expect(datasets.map((d) => [d.name, d.partitions])).toEqual([
      ['raw', 20],
      ['users', 10],
    ]);
    const woken = await a.getSchedule('watcher');
    expect(woken?.wakeAt).not.toBeNull();
    expect(woken?.version).toBeGreaterThan(s.version);
  });

  it('inserts a fired job exactly as insertJobs would', async () => {
    const clock = createFakeClock(Date.UTC(2026, 10, 23, 12));
    const store = createPostgresStore({
      connectionString: PG_URL,
      schema: freshSchema(),
      clock,
      maxConnections: 2,
    });
    try {
      const s = await store.insertSchedule(schedule('same'));
      const variants: NewJob[] = [
        job(null),
        { ...job({ a: [1, 'x'] }), priority: 5, timeoutMs: 3000, metadata: { team: 'data' } },
        { ...job('text'), delayMs: 2500, retry: { ...DEFAULT_RETRY, maxAttempts: 7 } },
        { ...job(0), runAt: clock.now() + 99 },
      ];
      for (const [i, variant] of variants.entries()) {
        const [fired] = await store.fireSchedules([
          {
            scheduleId: s.id,
            runs: [{ ...run(i), key: `n:${i}`, kind: 'now', target: { kind: 'job', job: variant } }],
          },
        ]);
        const [submitted] = await store.insertJobs([variant]);
        const a = await store.getJob(fired?.runs[0]?.jobId as string);
        const b = await store.getJob(submitted?.id as string);
        expect({ ...a, id: null }).toEqual({ ...b, id: null });
      }
    } finally {
      await store.close();
    }
  });

  it('fires 1,000 schedules in one call, each with its job', async () => {
    const schedules = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => a.insertSchedule(schedule(`bulk${i}`))),
    );
    const timings: number[] = [];
    for (let round = 0; round < 3; round++) {
      const at = 1000 * (round + 1);
      const fires = schedules.map((s) => fire(s.id, s.version + round, at));
      const started = performance.now();
      const results = await a.fireSchedules(fires);
      timings.push(performance.now() - started);
      expect(results.every((r) => r.applied && r.runs[0]?.created && r.runs[0]?.jobId)).toBe(true);
      expect(new Set(results.map((r) => r.runs[0]?.jobId)).size).toBe(1000);
    }
    const page = await a.listJobs({ task: 'tick', limit: 1000 });
    expect(page.jobs).toHaveLength(1000);
    expect(page.nextCursor).not.toBeNull();
    expect((await a.getSchedule('bulk7'))?.fireCount).toBe(3);
    console.log(
      `1,000 fires (one job each) per call: ${timings.map((t) => `${t.toFixed(0)} ms`).join(', ')}`,
    );
  });
});
