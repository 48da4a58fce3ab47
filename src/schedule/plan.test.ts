import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY } from '../core/retry.js';
import { planContinuous, planDatasetFire, planTimeFire, RUN_POLL_MS } from './plan.js';
import { parseTrigger, type TriggerSpec } from './trigger.js';
import type { SchedulePolicies, ScheduleRecord, ScheduleRun } from './types.js';

const t = (iso: string) => Date.parse(iso);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function schedule(
  trigger: TriggerSpec,
  nextFireAt: string | null,
  policies: Partial<SchedulePolicies> = {},
  extra: Partial<ScheduleRecord> = {},
): ScheduleRecord {
  return {
    id: 's1',
    name: 'nightly',
    description: null,
    target: {
      kind: 'job',
      job: {
        task: 'noop',
        queue: 'default',
        input: {},
        priority: 0,
        retry: DEFAULT_RETRY,
        timeoutMs: null,
        metadata: null,
      },
    },
    trigger: parseTrigger(trigger),
    policies: {
      misfire: 'fire_once',
      misfireGraceMs: 60_000,
      maxCatchUp: 100,
      overlap: 'allow',
      maxRuns: null,
      ...policies,
    },
    state: 'active',
    nextFireAt: nextFireAt === null ? null : t(nextFireAt),
    wakeAt: nextFireAt === null ? null : t(nextFireAt),
    fireCount: 0,
    lastFireAt: null,
    runtime: {},
    metadata: null,
    version: 1,
    createdAt: t('2026-01-01T00:00:00Z'),
    updatedAt: t('2026-01-01T00:00:00Z'),
    ...extra,
  };
}

const run = (over: Partial<ScheduleRun> = {}): ScheduleRun => ({
  id: 'r1',
  scheduleId: 's1',
  scheduleName: 'nightly',
  key: 't:1',
  kind: 'fire',
  fireTime: 1,
  partition: null,
  backfillId: null,
  jobId: 'j1',
  flowId: null,
  createdAt: t('2026-01-01T00:00:00Z'),
  state: 'running',
  startedAt: t('2026-01-01T00:00:00Z'),
  finishedAt: null,
  ...over,
});

const hourly: TriggerSpec = { every: '1h' };

describe('planTimeFire', () => {
  it('fires a due fire time and owes the next', () => {
    const plan = planTimeFire(schedule(hourly, '2026-01-01T10:00:00Z'), t('2026-01-01T10:00:00.300Z'), []);
    expect(plan.runs.map((r) => [r.key, iso(r.fireTime)])).toEqual([
      [`t:${t('2026-01-01T10:00:00Z')}`, '2026-01-01T10:00:00.000Z'],
    ]);
    expect(iso(plan.nextFireAt)).toBe('2026-01-01T11:00:00.000Z');
    expect(plan.wakeAt).toBe(plan.nextFireAt);
    expect(plan.state).toBe('active');
    expect(plan.events).toEqual([]);
  });

  it('does nothing before the fire time', () => {
    const plan = planTimeFire(schedule(hourly, '2026-01-01T10:00:00Z'), t('2026-01-01T09:59:59Z'), []);
    expect(plan.runs).toEqual([]);
    expect(iso(plan.nextFireAt)).toBe('2026-01-01T10:00:00.000Z');
  });

  it('fires late fire times within the grace one by one, whatever the misfire policy', () => {
    const every10s: TriggerSpec = { every: '10s' };
    for (const misfire of ['skip', 'fire_once', 'catch_up'] as const) {
      const plan = planTimeFire(
        schedule(every10s, '2026-01-01T10:00:00Z', { misfire }),
        t('2026-01-01T10:00:35Z'),
        [],
      );
      expect(plan.runs.map((r) => iso(r.fireTime))).toEqual([
        '2026-01-01T10:00:00.000Z',
        '2026-01-01T10:00:10.000Z',
        '2026-01-01T10:00:20.000Z',
        '2026-01-01T10:00:30.000Z',
      ]);
      expect(iso(plan.nextFireAt)).toBe('2026-01-01T10:00:40.000Z');
    }
  });

  describe('misfire: fire times missed by more than the grace (coordinator down 5 hours)', () => {
    const now = t('2026-01-01T15:00:30Z');
    it('skip: none of the missed runs, and the event says how many', () => {
      const plan = planTimeFire(schedule(hourly, '2026-01-01T10:00:00Z', { misfire: 'skip' }), now, []);
      // 15:00 is 30 s late: within the grace, so it fires.
      expect(plan.runs.map((r) => iso(r.fireTime))).toEqual(['2026-01-01T15:00:00.000Z']);
      expect(plan.events).toEqual([
        { type: 'misfired', data: expect.objectContaining({ policy: 'skip', missed: 5, fired: 0 }) },
      ]);
      expect(iso(plan.nextFireAt)).toBe('2026-01-01T16:00:00.000Z');
    });
    it('fire_once: one run for the missed ones (the latest)', () => {
      const plan = planTimeFire(schedule(hourly, '2026-01-01T10:00:00Z', { misfire: 'fire_once' }), now, []);
      expect(plan.runs.map((r) => iso(r.fireTime))).toEqual([
        '2026-01-01T14:00:00.000Z',
        '2026-01-01T15:00:00.000Z',
      ]);
      expect(plan.events[0]?.data).toMatchObject({ policy: 'fire_once', missed: 5, fired: 1 });
    });
    it('catch_up: one run per missed fire time, the latest maxCatchUp', () => {
      const plan = planTimeFire(
        schedule(hourly, '2026-01-01T10:00:00Z', { misfire: 'catch_up', maxCatchUp: 3 }),
        now,
        [],
      );
      expect(plan.runs.map((r) => iso(r.fireTime))).toEqual([
        '2026-01-01T12:00:00.000Z',
        '2026-01-01T13:00:00.000Z',
        '2026-01-01T14:00:00.000Z',
        '2026-01-01T15:00:00.000Z',
      ]);
      expect(plan.events[0]?.data).toMatchObject({ policy: 'catch_up', missed: 5, fired: 3 });
    });
    it('a month-long pause of an every-second schedule is cheap', () => {
      const started = performance.now();
      const plan = planTimeFire(
        schedule({ every: '1s' }, '2026-01-01T00:00:00Z', { misfire: 'catch_up', maxCatchUp: 10 }),
        t('2026-02-01T00:00:00Z'),
        [],
      );
      expect(plan.events[0]?.data).toMatchObject({ missed: 2_678_340 });
      expect(plan.runs).toHaveLength(10 + 61);
      expect(performance.now() - started).toBeLessThan(2000);
    });
  });

  describe('overlap: the previous run is still going', () => {
    const due = (overlap: SchedulePolicies['overlap']) =>
      planTimeFire(schedule(hourly, '2026-01-01T10:00:00Z', { overlap }), t('2026-01-01T10:00:01Z'), [run()]);
    it('allow: fires anyway', () => {
      expect(due('allow').runs).toHaveLength(1);
    });
    it('skip: the fire time passes without a run', () => {
      const plan = due('skip');
      expect(plan.runs).toEqual([]);
      expect(iso(plan.nextFireAt)).toBe('2026-01-01T11:00:00.000Z');
      expect(plan.events[0]?.type).toBe('overlap_skipped');
    });
    it('queue: the fire time waits (nothing consumed) and the schedule looks again soon', () => {
      const plan = due('queue');
      expect(plan.runs).toEqual([]);
      expect(iso(plan.nextFireAt)).toBe('2026-01-01T10:00:00.000Z');
      expect(plan.wakeAt).toBe(t('2026-01-01T10:00:01Z') + RUN_POLL_MS);
    });
    it('queue: a late fire time waiting for a running run is reported as misfired once, when it fires', () => {
      const late = schedule({ cron: '* * * * *' }, '2026-01-01T10:00:00Z', { overlap: 'queue' });
      const now = t('2026-01-01T10:03:30Z');
      const waiting = planTimeFire(late, now, [run()]);
      expect(waiting.runs).toEqual([]);
      expect(waiting.events).toEqual([]);
      const again = planTimeFire({ ...late, nextFireAt: waiting.nextFireAt }, now + RUN_POLL_MS, [run()]);
      expect(again.events).toEqual([]);
      const fired = planTimeFire({ ...late, nextFireAt: again.nextFireAt }, now + 2 * RUN_POLL_MS, []);
      expect(fired.runs).toHaveLength(1);
      expect(fired.events.map((e) => e.type)).toEqual(['misfired']);
    });
    it('queue: with several owed and nothing running, one at a time', () => {
      const plan = planTimeFire(
        schedule({ every: '10s' }, '2026-01-01T10:00:00Z', { overlap: 'queue' }),
        t('2026-01-01T10:00:25Z'),
        [],
      );
      expect(plan.runs.map((r) => iso(r.fireTime))).toEqual(['2026-01-01T10:00:00.000Z']);
      expect(iso(plan.nextFireAt)).toBe('2026-01-01T10:00:10.000Z');
      expect(plan.wakeAt).toBe(t('2026-01-01T10:00:25Z') + RUN_POLL_MS);
    });
    it('cancel_previous: cancels the running run and fires', () => {
      const plan = due('cancel_previous');
      expect(plan.cancel.map((r) => r.jobId)).toEqual(['j1']);
      expect(plan.runs).toHaveLength(1);
      expect(plan.events[0]?.type).toBe('previous_cancelled');
    });
  });

  it('completes after maxRuns fire times', () => {
    const plan = planTimeFire(
      schedule({ every: '10s' }, '2026-01-01T10:00:00Z', { maxRuns: 5 }, { fireCount: 3 }),
      t('2026-01-01T10:00:35Z'),
      [],
    );
    expect(plan.runs).toHaveLength(2);
    expect(plan.state).toBe('completed');
    expect(plan.nextFireAt).toBeNull();
    expect(plan.events.map((e) => e.type)).toEqual(['completed']);
  });

  it('a once trigger completes after it fired', () => {
    const plan = planTimeFire(
      schedule({ once: '2026-01-01T10:00:00Z' }, '2026-01-01T10:00:00Z'),
      t('2026-01-01T10:00:00.5Z'),
      [],
    );
    expect(plan.runs).toHaveLength(1);
    expect(plan.state).toBe('completed');
  });
});

describe('planDatasetFire', () => {
  const datasets: TriggerSpec = { datasets: ['raw_events', 'users'] };
  it('one run per ready partition', () => {
    const plan = planDatasetFire(schedule(datasets, null), 5, ['2026-11-21', '2026-11-22'], false, []);
    expect(plan.runs.map((r) => [r.key, r.partition])).toEqual([
      ['p:2026-11-21', '2026-11-21'],
      ['p:2026-11-22', '2026-11-22'],
    ]);
    expect(plan.wakeAt).toBeNull();
    expect(plan.state).toBe('active');
  });
  it('waits (never drops a partition) while a run is going under skip or queue', () => {
    const plan = planDatasetFire(schedule(datasets, null, { overlap: 'skip' }), 5, ['2026-11-22'], false, [
      run(),
    ]);
    expect(plan.runs).toEqual([]);
    expect(plan.wakeAt).toBe(5 + RUN_POLL_MS);
  });
});

describe('planContinuous', () => {
  const continuous: TriggerSpec = { continuous: true, backoff: '1s', maxBackoff: '1m' };
  const now = t('2026-01-01T10:00:00Z');
  it('starts the first run at once', () => {
    const plan = planContinuous(schedule(continuous, null), now, [], null);
    expect(plan.runs.map((r) => [r.key, r.kind])).toEqual([['c:1', 'continuous']]);
  });
  it('waits while its run is going', () => {
    const plan = planContinuous(schedule(continuous, null), now, [run()], null);
    expect(plan.runs).toEqual([]);
    expect(plan.wakeAt).toBe(now + RUN_POLL_MS);
  });
  it('restarts after the backoff, doubling it while runs end quickly, resetting after a long run', () => {
    const quick = run({ state: 'failed', startedAt: now - 2000, finishedAt: now - 500 });
    const s = schedule(continuous, null, {}, { fireCount: 3, runtime: { streak: 2 } });
    // Third quick exit in a row: backoff 1s * 2^2 = 4s after it ended.
    const waiting = planContinuous(s, now, [], quick);
    expect(waiting.runs).toEqual([]);
    expect(waiting.wakeAt).toBe(now - 500 + 4000);
    const restarted = planContinuous(s, now + 3500, [], quick);
    expect(restarted.runs.map((r) => r.key)).toEqual(['c:4']);
    expect(restarted.runtime).toEqual({ streak: 3 });
    const long = run({ state: 'succeeded', startedAt: now - 3_600_000, finishedAt: now - 500 });
    const reset = planContinuous(s, now + 600, [], long);
    expect(reset.runs).toHaveLength(1);
    expect(reset.runtime).toEqual({ streak: 0 });
  });
  it('stops after maxRuns', () => {
    const plan = planContinuous(
      schedule(continuous, null, { maxRuns: 3 }, { fireCount: 2 }),
      now,
      [],
      run({ state: 'succeeded', finishedAt: now - 60_000 }),
    );
    expect(plan.runs).toHaveLength(1);
    expect(plan.state).toBe('completed');
  });
});
