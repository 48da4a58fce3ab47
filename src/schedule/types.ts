import type { JobState } from '../core/job.js';
import type { FlowState, NewFlow } from '../flow/types.js';
import type { NewJob } from '../store/types.js';

/**
 * When a schedule fires, as stored (normalized from the user's `TriggerSpec`).
 * - `cron`: 5 fields (minute first) or 6 (seconds first), Quartz features (L, W, #, ?), in `timezone`.
 * - `interval`: at `referenceMs + k * everyMs`; a reference in the future is the first fire time.
 * - `once`: at `atMs`.
 * - `datasets`: once per partition that every listed dataset has marked available.
 * - `continuous`: a run is started again each time the previous one ends, after a backoff that
 *   doubles (up to `maxBackoffMs`) while runs end sooner than `maxBackoffMs` after they started.
 */
export type Trigger =
  | { type: 'cron'; expression: string; timezone: string }
  | { type: 'interval'; everyMs: number; referenceMs: number }
  | { type: 'once'; atMs: number }
  | { type: 'datasets'; datasets: string[] }
  | { type: 'continuous'; backoffMs: number; maxBackoffMs: number };

export type TriggerType = Trigger['type'];

/** What a schedule creates each time it fires: one job, or one flow. Inputs may hold `{{ placeholders }}`. */
export type ScheduleTarget = { kind: 'job'; job: ScheduleJobTemplate } | { kind: 'flow'; flow: NewFlow };

/** A job as the store inserts it, without timing or dedup (each run's key is its fire time). */
export type ScheduleJobTemplate = Omit<NewJob, 'runAt' | 'delayMs' | 'dedup'>;

/** Fire times missed by more than the grace (coordinator down, schedule paused). */
export type MisfirePolicy = 'skip' | 'fire_once' | 'catch_up';

/** What a fire time does while the schedule's previous run is still going. */
export type OverlapPolicy = 'allow' | 'skip' | 'queue' | 'cancel_previous';

export interface SchedulePolicies {
  misfire: MisfirePolicy;
  /** A fire time acted on more than this late counts as missed. */
  misfireGraceMs: number;
  /** `catch_up`: at most this many missed fire times run (the latest ones); the rest are skipped. */
  maxCatchUp: number;
  overlap: OverlapPolicy;
  /** Fire times after which the schedule completes; null = forever. Run-now and backfills don't count. */
  maxRuns: number | null;
}

export type ScheduleState = 'active' | 'paused' | 'completed';

export interface ScheduleRecord {
  id: string;
  name: string;
  description: string | null;
  target: ScheduleTarget;
  trigger: Trigger;
  policies: SchedulePolicies;
  state: ScheduleState;
  /** The next fire time owed (it may be in the past while the coordinator catches up); null when none. */
  nextFireAt: number | null;
  /** When the coordinator should look at the schedule next (a fire time, a dataset marked, a run to poll). */
  wakeAt: number | null;
  /** Fire times that produced (or skipped) a run; compared with `policies.maxRuns`. */
  fireCount: number;
  lastFireAt: number | null;
  /** Trigger-specific state kept between fires (e.g. the continuous restart streak). */
  runtime: Record<string, unknown>;
  metadata: Record<string, unknown> | null;
  /** Grows with every change; fires are fenced by it, so two coordinators cannot both apply one. */
  version: number;
  createdAt: number;
  updatedAt: number;
}

/** A schedule to insert (the store fills id, version, counters and times). */
export interface NewSchedule {
  name: string;
  description: string | null;
  target: ScheduleTarget;
  trigger: Trigger;
  policies: SchedulePolicies;
  state: 'active' | 'paused';
  nextFireAt: number | null;
  wakeAt: number | null;
  metadata: Record<string, unknown> | null;
}

/** Fields a user (or the coordinator, outside a fire) may change. */
export interface SchedulePatch {
  description?: string | null;
  target?: ScheduleTarget;
  trigger?: Trigger;
  policies?: SchedulePolicies;
  state?: ScheduleState;
  nextFireAt?: number | null;
  wakeAt?: number | null;
  runtime?: Record<string, unknown>;
  metadata?: Record<string, unknown> | null;
}

export type ScheduleEventType =
  | 'created'
  | 'updated'
  | 'paused'
  | 'resumed'
  | 'run_now'
  | 'misfired'
  | 'overlap_skipped'
  | 'previous_cancelled'
  | 'completed'
  | 'backfill_started'
  | 'backfill_finished'
  | 'backfill_cancelled';

export interface ScheduleEvent {
  id: number;
  scheduleId: string;
  at: number;
  type: ScheduleEventType;
  data: Record<string, unknown> | null;
}

export type ScheduleRunKind = 'fire' | 'now' | 'partition' | 'backfill' | 'continuous';

/** One run a schedule created. `key` is unique per schedule: that is the exactly-once guarantee. */
export interface NewScheduleRun {
  /** `t:<fire time ms>` for fire times (backfills use the same key), `p:<partition>`, `n:<id>`, `c:<n>`. */
  key: string;
  kind: ScheduleRunKind;
  fireTime: number | null;
  partition: string | null;
  backfillId: string | null;
  /** Rendered: placeholders filled in. */
  target: { kind: 'job'; job: NewJob } | { kind: 'flow'; flow: NewFlow };
}

export interface ScheduleFire {
  scheduleId: string;
  runs: readonly NewScheduleRun[];
  /**
   * With `advance`, the fire is fenced: it applies (runs inserted, schedule updated, version
   * bumped) only if the schedule still has `version` and is active. Without it (run-now,
   * backfills), only the runs are inserted, each at most once by key.
   */
  advance?: {
    version: number;
    nextFireAt: number | null;
    wakeAt: number | null;
    /** Added to `fireCount`. */
    fired: number;
    lastFireAt: number | null;
    state: ScheduleState;
    runtime?: Record<string, unknown>;
  };
  events?: readonly { type: ScheduleEventType; data: Record<string, unknown> | null }[];
}

export interface FireResult {
  scheduleId: string;
  /** False when the fence did not hold (the schedule changed or is no longer active): nothing was written. */
  applied: boolean;
  /** Per run in request order: created, or already there (its key was taken). */
  runs: { key: string; created: boolean; jobId: string | null; flowId: string | null }[];
}

export type ScheduleRunState = JobState | FlowState | 'deleted';

export interface ScheduleRun {
  id: string;
  scheduleId: string;
  scheduleName: string;
  key: string;
  kind: ScheduleRunKind;
  fireTime: number | null;
  partition: string | null;
  backfillId: string | null;
  jobId: string | null;
  flowId: string | null;
  createdAt: number;
  /** The job's or flow's state now; `deleted` once retention removed it. */
  state: ScheduleRunState;
  startedAt: number | null;
  finishedAt: number | null;
}

export interface ScheduleRunFilter {
  scheduleId?: string;
  backfillId?: string;
  /** Only runs whose job is pending or running, or whose flow is not finished. */
  active?: boolean;
  /** Newest first. @default 50 */
  limit?: number;
  cursor?: string;
}

export interface ScheduleFilter {
  state?: ScheduleState;
  triggerType?: TriggerType;
  /** Ordered by name. @default 100 */
  limit?: number;
  cursor?: string;
}

export type BackfillState = 'running' | 'finished' | 'cancelled';

export interface NewBackfill {
  scheduleId: string;
  /** Time triggers: fire times in [from, to]. */
  from: number | null;
  to: number | null;
  /** Dataset triggers: the partitions to run, in order. */
  partitions: string[] | null;
  concurrency: number;
  /** How many fire times or partitions the range holds. */
  total: number;
}

export interface BackfillRecord {
  id: string;
  scheduleId: string;
  scheduleName: string;
  state: BackfillState;
  from: number | null;
  to: number | null;
  partitions: string[] | null;
  concurrency: number;
  total: number;
  /** Where the coordinator is: the last fire time (as a decimal string) or partition index handled; null before the first. */
  cursor: string | null;
  /** Runs the backfill created. */
  created: number;
  /** Fire times that already had a run (not repeated). */
  skipped: number;
  /** The backfill's runs by their state now. */
  runs: Partial<Record<ScheduleRunState, number>>;
  createdAt: number;
  finishedAt: number | null;
}

export interface BackfillPatch {
  cursor?: string | null;
  /** Added to the counters. */
  created?: number;
  skipped?: number;
  state?: BackfillState;
}

export interface DatasetPartition {
  dataset: string;
  partition: string;
  metadata: Record<string, unknown> | null;
  markedAt: number;
}

export interface DatasetSummary {
  name: string;
  partitions: number;
  lastMarkedAt: number;
}
