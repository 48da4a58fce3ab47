import { afterEach, beforeEach } from 'vitest';
import { createFakeClock, type FakeClock } from '../../src/core/clock.js';
import type { ClaimedJob } from '../../src/core/job.js';
import { DEFAULT_RETRY } from '../../src/core/retry.js';
import type { NewFlow } from '../../src/flow/types.js';
import type {
  NewSchedule,
  NewScheduleRun,
  ScheduleFire,
  ScheduleJobTemplate,
  Trigger,
} from '../../src/schedule/types.js';
import type { Store } from '../../src/store/types.js';

export const template: ScheduleJobTemplate = {
  task: 't',
  queue: 'default',
  input: { day: '{{ date }}' },
  priority: 0,
  retry: DEFAULT_RETRY,
  timeoutMs: null,
  metadata: null,
};

export const cron: Trigger = { type: 'cron', expression: '0 2 * * *', timezone: 'Europe/Berlin' };

const stepJob = { queue: 'default', priority: 0, retry: DEFAULT_RETRY, timeoutMs: null };
/** A two-step flow: b needs a. */
export const twoSteps: NewFlow = {
  spec: {
    name: 'pipeline',
    steps: [
      { name: 'a', task: 't', input: { x: 1 } },
      { name: 'b', task: 't', after: ['a'] },
    ],
  },
  store: null,
  steps: [
    {
      name: 'a',
      task: 't',
      input: { x: 1 },
      deps: [],
      map: null,
      onFailure: null,
      revertible: false,
      job: stepJob,
    },
    {
      name: 'b',
      task: 't',
      input: {},
      deps: ['a'],
      map: null,
      onFailure: null,
      revertible: false,
      job: stepJob,
    },
  ],
  metadata: null,
  dedup: null,
};

/** A settled promise's error, or null when it resolved. */
export const errorOf = async (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => null,
    (err: unknown) => err,
  );

/**
 * A fresh store on a fake clock per test, and helpers to build schedules and runs and to drive jobs.
 * Read `h.store`, `h.clock` and `h.t0` inside tests (they change per test).
 */
export function scheduleHarness(makeStore: (clock: FakeClock) => Promise<Store>) {
  const h = {
    clock: undefined as unknown as FakeClock,
    store: undefined as unknown as Store,
    t0: 0,
    schedule: (over: Partial<NewSchedule> = {}): NewSchedule => ({
      name: 'nightly',
      description: null,
      target: { kind: 'job', job: template },
      trigger: cron,
      policies: { misfire: 'skip', misfireGraceMs: 60_000, maxCatchUp: 10, overlap: 'allow', maxRuns: null },
      state: 'active',
      nextFireAt: h.t0 + 1000,
      wakeAt: h.t0 + 1000,
      metadata: null,
      ...over,
    }),
    jobRun: (key: string, over: Partial<NewScheduleRun> = {}, input: unknown = { key }): NewScheduleRun => ({
      key,
      kind: 'fire',
      fireTime: null,
      partition: null,
      backfillId: null,
      target: { kind: 'job', job: { ...template, input, dedup: null } },
      ...over,
    }),
    fire: async (f: ScheduleFire) => {
      const [result] = await h.store.fireSchedules([f]);
      return result!;
    },
    claim: (limit = 100): Promise<ClaimedJob[]> =>
      h.store.claimJobs({ workerId: 'w1', queues: ['default'], tasks: ['t'], limit, leaseMs: 10_000 }),
    succeed: (jobs: readonly ClaimedJob[]) =>
      h.store.completeJobs({
        completions: jobs.map((j) => ({
          id: j.id,
          attempt: j.attempt,
          workerId: 'w1',
          outcome: 'succeeded' as const,
          output: { ok: true },
          flow: j.flow,
        })),
      }),
    eventTypes: async (n: string) => (await h.store.getScheduleEvents(n)).map((e) => e.type),
  };
  beforeEach(async () => {
    h.clock = createFakeClock(Date.UTC(2026, 10, 23, 12));
    h.t0 = h.clock.now();
    h.store = await makeStore(h.clock);
  });
  afterEach(async () => {
    await h.store.close();
  });
  return h;
}
