import { randomUUID } from 'node:crypto';
import { ConflictError } from '../core/errors.js';
import type { Logger } from '../internal/logger.js';
import { yieldToEventLoop } from '../internal/yield.js';
import type { Store } from '../store/types.js';
import { renderParams } from './params.js';
import { type FirePlan, type PlannedRun, planContinuous, planDatasetFire, planTimeFire } from './plan.js';
import { triggerTimezone } from './trigger.js';
import type { NewScheduleRun, ScheduleFire, ScheduleRecord, ScheduleRun } from './types.js';

/** Schedules read per `dueSchedules` call. */
const BATCH = 1000;
/**
 * Runs per `fireSchedules` call, at most (a schedule's runs are never split; one far behind may go
 * over). Bounds the memory of a round that catches up, when each schedule fires many times.
 */
const RUNS_PER_CALL = 500;
/**
 * `fireSchedules` calls in flight at once: while one commits, the next is planned and rendered
 * (PostgreSQL: on another connection; SQLite answers at once, so it changes nothing there). The
 * calls of one read fire distinct schedules; the next read waits for all of them.
 */
const IN_FLIGHT = 2;
/** Rounds per call: a bound, so a schedule that stays due (a fence lost every time) cannot spin the loop. */
const MAX_ROUNDS = 100;
/** Ready partitions taken per dataset schedule per round. */
const PARTITIONS_PER_ROUND = 100;

/**
 * One macrotask turn between rounds. SQLite store calls resolve at once, so without this a catch-up
 * of many rounds would hold the event loop (timers, heartbeats, HTTP) for all of them.
 */

/** A run's job or flow, with the schedule's placeholders filled in. */
export function renderRun(
  schedule: ScheduleRecord,
  run: PlannedRun & { backfillId?: string | null },
): NewScheduleRun {
  const params = {
    fireTime: run.fireTime,
    timezone: triggerTimezone(schedule.trigger),
    partition: run.partition,
    schedule: schedule.name,
  };
  const target = schedule.target;
  return {
    key: run.key,
    kind: run.kind,
    fireTime: run.fireTime,
    partition: run.partition,
    backfillId: run.backfillId ?? null,
    target:
      target.kind === 'job'
        ? { kind: 'job', job: { ...target.job, input: renderParams(target.job.input, params), dedup: null } }
        : { kind: 'flow', flow: { ...renderParams(target.flow, params), dedup: null } },
  };
}

/** The key of a run-now: unique, so it never collides with a fire time. */
export const runNowKey = (): string => `n:${randomUUID()}`;

/** Cancels a run's job or flow; one that just finished is fine. */
async function cancelRun(store: Store, run: ScheduleRun, reason: string): Promise<void> {
  try {
    if (run.jobId) await store.cancelJob(run.jobId, reason);
    else if (run.flowId) await store.cancelFlow(run.flowId, reason);
  } catch (err) {
    if (!(err instanceof ConflictError)) throw err;
  }
}

function toFire(schedule: ScheduleRecord, plan: FirePlan): ScheduleFire {
  return {
    scheduleId: schedule.id,
    runs: plan.runs.map((run) => renderRun(schedule, run)),
    advance: {
      version: schedule.version,
      nextFireAt: plan.nextFireAt,
      wakeAt: plan.wakeAt,
      fired: plan.runs.length,
      lastFireAt: plan.lastFireAt,
      state: plan.state,
      ...(plan.runtime ? { runtime: plan.runtime } : {}),
    },
    events: plan.events,
  };
}

export interface FireRoundResult {
  /** Runs created. */
  created: number;
  /** Schedules whose fence did not hold (changed meanwhile); they are looked at again next time. */
  stale: number;
}

/**
 * Fires every schedule due at the store's `now`: reads due schedules in batches, plans each
 * (plain functions in plan.ts) and writes them in `fireSchedules` calls of about RUNS_PER_CALL
 * runs, two in flight, each one transaction. Run by the
 * coordinator holder only, but safe if two run it at once: each fire is fenced by the
 * schedule's version, and each run by its unique key.
 */
export async function fireDueSchedules(store: Store, now: number, logger: Logger): Promise<FireRoundResult> {
  const result: FireRoundResult = { created: 0, stale: 0 };
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const due = await store.dueSchedules({ before: now, limit: BATCH });
    if (due.length === 0) break;
    const watched = due.filter((s) => s.trigger.type === 'continuous' || s.policies.overlap !== 'allow');
    const active = new Map<string, ScheduleRun[]>();
    if (watched.length > 0) {
      for (const run of await store.activeScheduleRuns(watched.map((s) => s.id))) {
        const list = active.get(run.scheduleId);
        if (list) list.push(run);
        else active.set(run.scheduleId, [run]);
      }
    }
    const calls = new Calls(store, result);
    try {
      await fireBatch(store, due, now, active, calls);
    } catch (err) {
      // Nothing left running behind the caller's back.
      await calls.settle().catch(() => undefined);
      throw err;
    }
    await calls.settle();
    if (result.stale > 0)
      logger.debug({ stale: result.stale }, 'stint: schedules changed while firing; looking again');
    if (due.length < BATCH) break;
    await yieldToEventLoop();
  }
  return result;
}

/** Plans and renders a read's schedules, firing them in calls of about RUNS_PER_CALL runs. */
async function fireBatch(
  store: Store,
  due: readonly ScheduleRecord[],
  now: number,
  active: ReadonlyMap<string, ScheduleRun[]>,
  calls: Calls,
): Promise<void> {
  let fires: ScheduleFire[] = [];
  let runs = 0;
  for (const schedule of due) {
    const plan = await planFor(store, schedule, now, active.get(schedule.id) ?? []);
    for (const run of plan.cancel)
      await cancelRun(
        store,
        run,
        `cancelled by schedule ${schedule.name}: a new run started (overlap policy cancel_previous)`,
      );
    fires.push(toFire(schedule, plan));
    runs += plan.runs.length;
    if (runs >= RUNS_PER_CALL) {
      await calls.fire(fires);
      fires = [];
      runs = 0;
    }
  }
  if (fires.length > 0) await calls.fire(fires);
}

/** `fireSchedules` calls of one read, up to IN_FLIGHT at once; `settle` waits for them all. */
class Calls {
  private readonly inFlight: Promise<void>[] = [];
  private failure: { err: unknown } | null = null;

  constructor(
    private readonly store: Store,
    private readonly result: FireRoundResult,
  ) {}

  /** Starts a call; returns once fewer than IN_FLIGHT are running. */
  async fire(fires: ScheduleFire[]): Promise<void> {
    this.inFlight.push(
      this.store.fireSchedules(fires).then(
        (results) => {
          for (const r of results) {
            if (!r.applied) this.result.stale += 1;
            for (const run of r.runs) if (run.created) this.result.created += 1;
          }
        },
        (err: unknown) => {
          this.failure ??= { err };
        },
      ),
    );
    if (this.inFlight.length >= IN_FLIGHT) await this.inFlight.shift();
    if (this.failure) await this.settle();
  }

  /** Waits for every call; throws the first failure. */
  async settle(): Promise<void> {
    await Promise.all(this.inFlight.splice(0));
    if (this.failure) throw this.failure.err;
  }
}

async function planFor(
  store: Store,
  schedule: ScheduleRecord,
  now: number,
  active: ScheduleRun[],
): Promise<FirePlan> {
  switch (schedule.trigger.type) {
    case 'continuous': {
      const last =
        active.length > 0
          ? null
          : ((await store.listScheduleRuns({ scheduleId: schedule.id, limit: 1 })).runs[0] ?? null);
      return planContinuous(schedule, now, active, last);
    }
    case 'datasets': {
      const ready = await store.readyPartitions({
        scheduleId: schedule.id,
        datasets: schedule.trigger.datasets,
        since: schedule.createdAt,
        limit: PARTITIONS_PER_ROUND + 1,
      });
      const more = ready.length > PARTITIONS_PER_ROUND;
      return planDatasetFire(schedule, now, ready.slice(0, PARTITIONS_PER_ROUND), more, active);
    }
    default:
      return planTimeFire(schedule, now, active);
  }
}
