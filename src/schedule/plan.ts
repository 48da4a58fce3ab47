import { countFireTimes, fireTimesBetween, latestFireTimesBefore, nextFireAfter } from './trigger.js';
import type {
  ScheduleEventType,
  ScheduleRecord,
  ScheduleRun,
  ScheduleRunKind,
  ScheduleState,
} from './types.js';

/**
 * What the coordinator does with a due schedule: plain functions of the schedule, the time and
 * what the store says about its runs. The coordinator renders the runs and writes the plan with
 * one fenced `fireSchedules`.
 */
export interface FirePlan {
  runs: PlannedRun[];
  /** Runs to cancel first (`cancel_previous`). */
  cancel: ScheduleRun[];
  nextFireAt: number | null;
  wakeAt: number | null;
  lastFireAt: number | null;
  state: ScheduleState;
  runtime?: Record<string, unknown>;
  events: { type: ScheduleEventType; data: Record<string, unknown> | null }[];
}

export interface PlannedRun {
  key: string;
  kind: ScheduleRunKind;
  fireTime: number;
  partition: string | null;
}

/** How often a schedule blocked by a running run (overlap `queue`, continuous) looks again. */
export const RUN_POLL_MS = 1000;
/** At most this many on-time fire times are fired per schedule per round (the rest next round). */
const MAX_ON_TIME = 1000;
/** Missed cron fire times are counted up to this many (for the `misfired` event). */
const MISSED_COUNT_CAP = 10_000;

export const fireKey = (fireTime: number): string => `t:${fireTime}`;
export const partitionKey = (partition: string): string => `p:${partition}`;

/** Fire times left before `maxRuns` is reached (Infinity without a limit). */
function remainingRuns(schedule: ScheduleRecord): number {
  const { maxRuns } = schedule.policies;
  return maxRuns === null ? Number.POSITIVE_INFINITY : Math.max(0, maxRuns - schedule.fireCount);
}

function done(schedule: ScheduleRecord, plan: FirePlan, fired: number): FirePlan {
  if (schedule.policies.maxRuns !== null && schedule.fireCount + fired >= schedule.policies.maxRuns) {
    plan.state = 'completed';
    plan.nextFireAt = null;
    plan.wakeAt = null;
  } else if (
    plan.state === 'active' &&
    plan.wakeAt === null &&
    plan.nextFireAt === null &&
    schedule.trigger.type !== 'datasets'
  ) {
    plan.state = 'completed';
  }
  if (plan.state === 'completed' && schedule.state !== 'completed') {
    plan.events.push({ type: 'completed', data: { fireCount: schedule.fireCount + fired } });
  }
  return plan;
}

/**
 * Cron, interval and once triggers. Fire times due at `now` that are at most `misfireGraceMs`
 * late fire one by one; older ones were missed and follow the misfire policy. The overlap policy
 * decides what happens while one of the schedule's runs is still going (`active`).
 */
export function planTimeFire(
  schedule: ScheduleRecord,
  now: number,
  active: readonly ScheduleRun[],
): FirePlan {
  const { policies, trigger } = schedule;
  const plan: FirePlan = {
    runs: [],
    cancel: [],
    nextFireAt: schedule.nextFireAt,
    wakeAt: schedule.nextFireAt,
    lastFireAt: schedule.lastFireAt,
    state: 'active',
    events: [],
  };
  const first = schedule.nextFireAt;
  if (first === null || first > now) return done(schedule, plan, 0);

  const cutoff = now - policies.misfireGraceMs;
  let times: number[] = [];
  if (first < cutoff) {
    // Counting cron fire times walks them one by one: stop at a cap and say "at least".
    const cap = trigger.type === 'interval' ? Number.MAX_SAFE_INTEGER : MISSED_COUNT_CAP;
    const missed = countFireTimes(trigger, first, cutoff - 1, cap);
    const keep = policies.misfire === 'skip' ? 0 : policies.misfire === 'fire_once' ? 1 : policies.maxCatchUp;
    times = latestFireTimesBefore(trigger, first, cutoff, keep);
    plan.events.push({
      type: 'misfired',
      data: {
        policy: policies.misfire,
        missed,
        ...(missed === cap ? { atLeast: true } : {}),
        fired: times.length,
        from: new Date(first).toISOString(),
        to: new Date(cutoff - 1).toISOString(),
      },
    });
  }
  const onTime = fireTimesBetween(trigger, Math.max(first, cutoff), now, MAX_ON_TIME);
  times = times.concat(onTime.times);
  const after = onTime.more ? (onTime.times.at(-1) as number) : now;
  let next = nextFireAfter(trigger, after);

  if (active.length > 0 && times.length > 0) {
    switch (policies.overlap) {
      case 'skip':
        plan.events.push({
          type: 'overlap_skipped',
          data: { fireTimes: times.length, active: active.map(runRef) },
        });
        times = [];
        break;
      case 'queue':
        // Nothing is consumed: the oldest owed fire time waits for the running run to end. A
        // misfire is reported when the fire happens, not at every look while it waits.
        plan.nextFireAt = times[0] as number;
        plan.wakeAt = now + RUN_POLL_MS;
        plan.events = plan.events.filter((e) => e.type !== 'misfired');
        return plan;
      case 'cancel_previous':
        plan.cancel = [...active];
        plan.events.push({ type: 'previous_cancelled', data: { runs: active.map(runRef) } });
        break;
      default:
        break;
    }
  } else if (policies.overlap === 'queue' && times.length > 1) {
    // One run at a time: the rest stay owed until it ends.
    next = times[1] as number;
    times = times.slice(0, 1);
  }

  const remaining = remainingRuns(schedule);
  if (times.length > remaining) times = times.slice(0, remaining);
  plan.runs = times.map((fireTime) => ({ key: fireKey(fireTime), kind: 'fire', fireTime, partition: null }));
  if (times.length > 0) plan.lastFireAt = times.at(-1) as number;
  plan.nextFireAt = next;
  plan.wakeAt = next !== null && next <= now ? now + RUN_POLL_MS : next;
  return done(schedule, plan, plan.runs.length);
}

/** A dataset trigger: one run per ready partition; while a run is going, `skip` and `queue` both wait (a partition is never dropped). */
export function planDatasetFire(
  schedule: ScheduleRecord,
  now: number,
  ready: readonly string[],
  more: boolean,
  active: readonly ScheduleRun[],
): FirePlan {
  const plan: FirePlan = {
    runs: [],
    cancel: [],
    nextFireAt: null,
    wakeAt: more ? now : null,
    lastFireAt: schedule.lastFireAt,
    state: 'active',
    events: [],
  };
  let partitions = [...ready];
  const overlap = schedule.policies.overlap;
  if (active.length > 0 && partitions.length > 0) {
    if (overlap === 'skip' || overlap === 'queue') {
      plan.wakeAt = now + RUN_POLL_MS;
      return plan;
    }
    if (overlap === 'cancel_previous') {
      plan.cancel = [...active];
      plan.events.push({ type: 'previous_cancelled', data: { runs: active.map(runRef) } });
    }
  }
  if (overlap !== 'allow' && partitions.length > 1) {
    partitions = partitions.slice(0, 1);
    plan.wakeAt = now + RUN_POLL_MS;
  }
  const remaining = remainingRuns(schedule);
  if (partitions.length > remaining) partitions = partitions.slice(0, remaining);
  plan.runs = partitions.map((partition) => ({
    key: partitionKey(partition),
    kind: 'partition',
    fireTime: now,
    partition,
  }));
  if (plan.runs.length > 0) plan.lastFireAt = now;
  return done(schedule, plan, plan.runs.length);
}

/**
 * A continuous trigger: when no run is going, start one, `backoffMs` after the last ended. Each
 * run that ends sooner than `maxBackoffMs` after it started doubles the next backoff (up to
 * `maxBackoffMs`); a longer run resets it.
 */
export function planContinuous(
  schedule: ScheduleRecord,
  now: number,
  active: readonly ScheduleRun[],
  last: ScheduleRun | null,
): FirePlan {
  if (schedule.trigger.type !== 'continuous') throw new Error('planContinuous needs a continuous trigger');
  const { backoffMs, maxBackoffMs } = schedule.trigger;
  const plan: FirePlan = {
    runs: [],
    cancel: [],
    nextFireAt: null,
    wakeAt: now + RUN_POLL_MS,
    lastFireAt: schedule.lastFireAt,
    state: 'active',
    events: [],
  };
  if (active.length > 0) return plan;
  let streak = 0;
  if (last) {
    const ended = last.finishedAt ?? now;
    const ran = ended - (last.startedAt ?? last.createdAt);
    streak = ran < maxBackoffMs ? Number(schedule.runtime.streak ?? 0) + 1 : 0;
    const delay = Math.min(maxBackoffMs, backoffMs * 2 ** Math.max(0, streak - 1));
    if (now < ended + delay) {
      plan.wakeAt = ended + delay;
      return plan;
    }
  }
  if (remainingRuns(schedule) === 0) return done(schedule, plan, 0);
  const n = schedule.fireCount + 1;
  plan.runs = [{ key: `c:${n}`, kind: 'continuous', fireTime: now, partition: null }];
  plan.lastFireAt = now;
  plan.runtime = { ...schedule.runtime, streak };
  return done(schedule, plan, 1);
}

function runRef(run: ScheduleRun): Record<string, unknown> {
  return run.jobId ? { job: run.jobId } : { flow: run.flowId };
}
