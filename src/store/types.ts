import type { SerializedError } from '../core/errors.js';
import type { ClaimedJob, JobEvent, JobLogEntry, JobRecord, JobState, SandboxOverride } from '../core/job.js';
import type { ConcurrencyLimit, Placement, Resources, WorkerOffer } from '../core/placement.js';
import type { RetryPolicy } from '../core/retry.js';
import type {
  FlowFilter,
  FlowJobRef,
  FlowLogEntry,
  FlowPage,
  FlowRecord,
  FlowState,
  FlowStepRecord,
  InsertedFlow,
  NewFlow,
  NewStep,
} from '../flow/types.js';
import type {
  BackfillPatch,
  BackfillRecord,
  BackfillState,
  DatasetPartition,
  DatasetSummary,
  FireResult,
  NewBackfill,
  NewSchedule,
  ScheduleEvent,
  ScheduleEventType,
  ScheduleFilter,
  ScheduleFire,
  SchedulePatch,
  ScheduleRecord,
  ScheduleRun,
  ScheduleRunFilter,
} from '../schedule/types.js';
import type { AuthMethods, MetricsMethods } from './auth-types.js';
import type { StatsMethods } from './stats.js';

/**
 * The store: the only layer that knows SQL. It speaks queue semantics; every method is one
 * transaction. SQLite and PostgreSQL implement it, and `test/conformance` holds the suite both pass.
 *
 * Times: the store judges `runAt`, leases, dedup windows and retention by its own clock
 * (an injected `Clock` for SQLite; the database's clock, or an injected one in tests, for PostgreSQL).
 */
export interface Store extends AuthMethods, MetricsMethods, StatsMethods {
  // Auth (tokens, users, sessions, login throttling) and the /metrics gauges: see auth-types.ts.
  // Throughput over time and failing tasks (what the web UI's overview reads): see stats.ts.
  readonly kind: 'sqlite' | 'postgres';
  /** Where it points, without credentials (for messages and `stint dev`). */
  readonly description: string;

  /**
   * Inserts jobs in one transaction; a job whose dedup key is held returns the holder's id with
   * `created: false`. With `tx` (PostgreSQL: a client inside the caller's open transaction) the
   * jobs exist if and only if that transaction commits.
   */
  insertJobs(jobs: readonly NewJob[], options?: { tx?: unknown }): Promise<InsertedJob[]>;
  /** Claims up to `limit` due jobs: highest priority first, then oldest `runAt`, then insertion order. */
  claimJobs(request: ClaimRequest): Promise<ClaimedJob[]>;
  /** Applies completions fenced by attempt (stale ones are rejected and recorded), plus logs and progress. */
  completeJobs(batch: CompletionBatch): Promise<CompletionResult[]>;
  /**
   * `completeJobs` then `claimJobs` in one transaction: a busy worker reports what finished and
   * takes its next jobs with one commit.
   */
  completeAndClaim(
    batch: CompletionBatch,
    request: ClaimRequest,
  ): Promise<{ results: CompletionResult[]; jobs: ClaimedJob[] }>;
  /** Renews the leases of running jobs; tells which were lost and which were asked to cancel. */
  extendLeases(request: ExtendLeasesRequest): Promise<ExtendLeasesResult>;
  /**
   * Expires leases past their deadline: each such job goes back to pending (after `retryDelayMs`)
   * or fails, as `decide` says, with a `lease_expired` event. Returns the number of jobs expired.
   */
  expireLeases(request: ExpireLeasesRequest): Promise<number>;

  getJob(id: string): Promise<JobRecord | null>;
  listJobs(filter: JobFilter): Promise<JobPage>;
  getJobEvents(id: string): Promise<JobEvent[]>;
  getJobLogs(id: string, options?: { afterId?: number; limit?: number }): Promise<JobLogEntry[]>;
  /** Pending: cancelled at once. Running: cancel requested (the worker aborts it). Finished: a `ConflictError`. */
  cancelJob(id: string, reason: string): Promise<JobRecord>;
  /** Failed or cancelled: back to pending with a fresh attempt budget. Otherwise a `ConflictError`. */
  retryJob(id: string): Promise<JobRecord>;
  /** Deletes up to `limit` jobs finished before `before` (ms), with their events, logs and dedup keys. */
  deleteFinishedJobs(request: { before: number; limit: number }): Promise<number>;

  /**
   * Takes or renews the named lease for `holder`. Returns the fencing term (it grows each time the
   * holder changes), or null while another holder's lease is live.
   */
  acquireLease(name: string, holder: string, ttlMs: number): Promise<number | null>;
  releaseLease(name: string, holder: string): Promise<void>;
  /** The named lease as stored (also when it has expired or was released), or null when never taken. */
  getLease(name: string): Promise<LeaseRecord | null>;

  /**
   * Inserts a checked flow and starts the steps that wait for nothing, in one transaction. A flow
   * whose dedup key is held returns the holder's id with `created: false`.
   */
  insertFlow(flow: NewFlow): Promise<InsertedFlow>;
  getFlow(id: string): Promise<FlowRecord | null>;
  /** Just the flow's state (cheap: what a waiter polls), or null when there is no such flow. */
  getFlowState(id: string): Promise<FlowState | null>;
  /** Every step of the flow (map items after the top-level steps), or null when there is no such flow. */
  getFlowSteps(id: string): Promise<FlowStepRecord[] | null>;
  listFlows(filter: FlowFilter): Promise<FlowPage>;
  /** The log lines of every job of the flow (runs and reverts), in the order they were written. */
  getFlowLogs(id: string, options?: { afterId?: number; limit?: number }): Promise<FlowLogEntry[]>;
  /**
   * Cancels a running flow: pending steps are cancelled, running ones asked to cancel, then
   * completed steps reverted. A `NotFoundError` for no such flow, a `ConflictError` when it is not running.
   */
  cancelFlow(id: string, reason: string): Promise<FlowRecord>;

  /** A new schedule (its events start with `created`). A `ConflictError` when the name is taken. */
  insertSchedule(schedule: NewSchedule): Promise<ScheduleRecord>;
  /**
   * Changes a schedule and records `event` with it, bumping its version. With `expectedVersion`,
   * a `ConflictError` when the schedule changed since. A `NotFoundError` for no such schedule.
   */
  updateSchedule(
    name: string,
    patch: SchedulePatch,
    event: { type: ScheduleEventType; data: Record<string, unknown> | null },
    options?: { expectedVersion?: number },
  ): Promise<ScheduleRecord>;
  /** Deletes a schedule with its events, runs (not their jobs or flows) and backfills. False when there was none. */
  deleteSchedule(name: string): Promise<boolean>;
  getSchedule(name: string): Promise<ScheduleRecord | null>;
  getScheduleById(id: string): Promise<ScheduleRecord | null>;
  listSchedules(filter: ScheduleFilter): Promise<{ schedules: ScheduleRecord[]; nextCursor: string | null }>;
  /** Oldest first (at most `limit`, default 1000). A `NotFoundError` for no such schedule. */
  getScheduleEvents(name: string, options?: { afterId?: number; limit?: number }): Promise<ScheduleEvent[]>;
  /** Active schedules whose `wakeAt` is at or before `before`, earliest first. */
  dueSchedules(request: { before: number; limit: number }): Promise<ScheduleRecord[]>;
  /** The earliest `wakeAt` of an active schedule, or null: when the coordinator should look next. */
  nextScheduleWake(): Promise<number | null>;
  /**
   * Creates schedule runs (each run's job or flow inserted with it, at most once per schedule and
   * key) and advances schedules, each fire in one transaction or all in one; see `ScheduleFire`.
   */
  fireSchedules(fires: readonly ScheduleFire[]): Promise<FireResult[]>;
  listScheduleRuns(filter: ScheduleRunFilter): Promise<{ runs: ScheduleRun[]; nextCursor: string | null }>;
  /** Active runs (job pending or running, flow not finished) of these schedules. */
  activeScheduleRuns(scheduleIds: readonly string[]): Promise<ScheduleRun[]>;

  /**
   * Marks a partition of a dataset available (once: marking it again changes nothing) and wakes the
   * active schedules watching that dataset: `wakeAt` becomes now unless it is earlier, and their
   * version moves on, so a fire computed before the mark cannot clear that wake.
   */
  markPartition(
    dataset: string,
    partition: string,
    metadata: Record<string, unknown> | null,
  ): Promise<{ created: boolean; partition: DatasetPartition }>;
  listDatasets(): Promise<DatasetSummary[]>;
  /** A dataset's partitions, newest mark first, each with the runs it triggered (runs with that partition of schedules on this dataset). */
  listPartitions(
    dataset: string,
    options?: { limit?: number; cursor?: string },
  ): Promise<{ partitions: (DatasetPartition & { runs: ScheduleRun[] })[]; nextCursor: string | null }>;
  /**
   * Partitions every one of `datasets` has marked, completed (the last of those marks) at or after
   * `since`, for which the schedule has no run yet (`p:<partition>`), oldest completion first.
   */
  readyPartitions(request: {
    scheduleId: string;
    datasets: readonly string[];
    since: number;
    limit: number;
  }): Promise<string[]>;
  /** The partitions marked by every one of `datasets`, between `from` and `to` (inclusive, string order). */
  completePartitions(request: {
    datasets: readonly string[];
    from: string;
    to: string;
    limit: number;
  }): Promise<string[]>;

  /** A new backfill (running), with a `backfill_started` event on its schedule. */
  insertBackfill(backfill: NewBackfill): Promise<BackfillRecord>;
  getBackfill(id: string): Promise<BackfillRecord | null>;
  /** Newest first. */
  listBackfills(filter: {
    scheduleId?: string;
    state?: BackfillState;
    limit?: number;
  }): Promise<BackfillRecord[]>;
  /**
   * Moves a running backfill on (cursor, counters, state; `finished` and `cancelled` record an
   * event on its schedule). A `ConflictError` when it is no longer running.
   */
  updateBackfill(id: string, patch: BackfillPatch): Promise<BackfillRecord>;

  /** Announces a worker or renews its heartbeat (upsert by id): what it runs, has and uses. */
  heartbeatWorker(worker: WorkerHeartbeat): Promise<void>;
  /** A worker stopped cleanly: it stays listed as `stopped` until retention removes it. */
  stopWorker(id: string): Promise<void>;
  /** Workers, active first, then by id. */
  listWorkers(filter?: { state?: WorkerRecordState }): Promise<WorkerRecord[]>;
  /**
   * Coordinator duty: marks `gone` the active workers that missed three heartbeats (their jobs'
   * leases expire as usual), deletes stopped and gone workers last heard of `forgetMs` ago, and
   * sets or clears `unplaceable` on pending placed jobs against the live workers.
   */
  sweepWorkers(request: { forgetMs: number }): Promise<{
    gone: number;
    unplaceable: number;
    placeable: number;
  }>;
  /** Creates or changes a queue's settings (admission and rate limits). */
  setQueue(name: string, settings: QueueSettingsPatch): Promise<QueueSettings>;
  /** A queue's settings: the defaults (no limits) for a queue never set. */
  getQueue(name: string): Promise<QueueSettings>;
  /** Every queue with jobs or settings: depth per state and recent throughput. */
  listQueues(): Promise<QueueStats[]>;

  /** Records the defaults of tasks a worker runs (the last registration of a name wins). */
  registerTasks(tasks: readonly TaskDefaults[]): Promise<void>;
  /** A registered task's defaults, or null when no worker has registered it. */
  getTaskDefaults(name: string): Promise<TaskDefaults | null>;
  /** Every registered task, by name, with its input schema and description. */
  listTasks(): Promise<TaskInfo[]>;

  /** The store's idea of now, in ms since the epoch. */
  now(): Promise<number>;

  /**
   * Hears about changes: jobs that became available, jobs that finished, cancels requested.
   * Changes made by other processes arrive as `{ type: 'changed' }` where the store cannot tell more.
   */
  subscribe(listener: StoreListener): () => void;

  close(): Promise<void>;
}

/** A task's defaults, as workers register them for submitters that lack the task's code. */
export interface TaskDefaults {
  name: string;
  queue: string;
  priority: number;
  retry: RetryPolicy;
  timeoutMs: number | null;
  /** The task defines a `revert` (flows revert its completed steps on failure). */
  revertible: boolean;
  /** What its jobs need of a worker, unless a submission says otherwise. */
  placement?: Placement | null;
  /** A fixed concurrency limit of its jobs (a task whose key depends on the input registers none). */
  concurrency?: ConcurrencyLimit | null;
  /** Its input schema as JSON Schema; null when it cannot be expressed as one. */
  inputSchema?: Record<string, unknown> | null;
  /** What it does, in a sentence. */
  description?: string | null;
}

/** A registered task as the last worker to register it described it. */
export interface TaskInfo extends TaskDefaults {
  placement: Placement | null;
  concurrency: ConcurrencyLimit | null;
  inputSchema: Record<string, unknown> | null;
  description: string | null;
  /** When a worker last registered it (ms since the epoch). */
  updatedAt: number;
}

/** A named lease as stored: `expiresAt` in the past (0 once released) means nobody holds it. */
export interface LeaseRecord {
  name: string;
  holder: string;
  /** The fencing term: it grows each time the holder changes. */
  term: number;
  expiresAt: number;
}

export interface NewJob {
  task: string;
  queue: string;
  input: unknown;
  priority: number;
  /** Absolute start time; when absent the job is due `delayMs` after the store's now. */
  runAt?: number;
  delayMs?: number;
  retry: RetryPolicy;
  timeoutMs: number | null;
  metadata: Record<string, unknown> | null;
  dedup: { key: string; windowMs: number | null } | null;
  /** What the job needs of its worker (resources, labels); absent or null for any worker of its queue. */
  placement?: Placement | null;
  /** At most `limit` jobs of this key run at once across the cluster. */
  concurrency?: ConcurrencyLimit | null;
  /** The submission's change to the task's sandbox. */
  sandbox?: SandboxOverride | null;
}

export interface InsertedJob {
  id: string;
  created: boolean;
}

export interface ClaimRequest {
  workerId: string;
  queues: readonly string[];
  /** Only jobs of these tasks are claimed. */
  tasks: readonly string[];
  limit: number;
  leaseMs: number;
  /**
   * What the worker has left and its labels: placed jobs (with resources, labels or a concurrency
   * key) are claimed only when they fit. Absent: nothing free and no labels (placed jobs that
   * ask for neither, i.e. only a concurrency key, can still be claimed).
   */
  offer?: WorkerOffer;
}

/** What every completion names: the job, the attempt it fences on, and the job's flow step if any. */
interface CompletionBase {
  id: string;
  attempt: number;
  workerId: string;
  /** The job's place in a flow, as claimed: the store moves the flow on in the same transaction. */
  flow?: FlowJobRef | null;
}

export type Completion =
  | (CompletionBase & {
      outcome: 'succeeded';
      output: unknown;
      /** Steps the job added to its flow (`ctx.flow.add`). */
      added?: readonly NewStep[];
    })
  | (CompletionBase & {
      outcome: 'failed';
      error: SerializedError;
      /** Delay before the next attempt, or null to fail the job. */
      retryDelayMs: number | null;
    })
  | (CompletionBase & { outcome: 'cancelled'; reason: string })
  /** Hands the job back without using up an attempt (worker shutting down). */
  | (CompletionBase & { outcome: 'released'; reason: string });

/** A log line to store: a `JobLogEntry` before the store gives it an id (`stream` defaults to `log`). */
export type LogWrite = Omit<JobLogEntry, 'id' | 'stream'> & { stream?: JobLogEntry['stream'] };

export interface ProgressWrite {
  jobId: string;
  attempt: number;
  done: number;
  total: number | null;
}

export interface CompletionBatch {
  completions: readonly Completion[];
  logs?: readonly LogWrite[];
  progress?: readonly ProgressWrite[];
}

export interface CompletionResult {
  id: string;
  /** False when the completion was stale (the job is no longer running this attempt). */
  applied: boolean;
  state: JobState | null;
}

export interface ExtendLeasesRequest {
  workerId: string;
  jobs: readonly { id: string; attempt: number }[];
  leaseMs: number;
}

export interface ExtendLeasesResult {
  /** Jobs this worker no longer holds: stop them, their completion will be rejected. */
  lost: string[];
  /** Jobs whose cancel was requested: abort them and complete them as cancelled. */
  cancelRequested: string[];
}

export interface ExpireLeasesRequest {
  limit: number;
  /** Delay before the next attempt of an expired job, or null to fail it. Pure and synchronous. */
  decide: (job: { attemptsUsed: number; retry: RetryPolicy }) => number | null;
}

export interface JobFilter {
  state?: JobState | readonly JobState[];
  task?: string;
  queue?: string;
  /** The jobs of one flow (its steps' runs and reverts). */
  flow?: string;
  /** Jobs created at or after this time (ms since the epoch, inclusive). */
  createdAfter?: number;
  /** Jobs created before this time (ms since the epoch, exclusive). */
  createdBefore?: number;
  /**
   * Jobs whose metadata, as JSON text, contains this text (1-200 characters; case-insensitive:
   * ASCII letters only on SQLite). It finds keys and values; `%` and `_` are plain characters.
   * Jobs without metadata never match.
   */
  search?: string;
  /** Newest first. @default 50 */
  limit?: number;
  cursor?: string;
}

export interface JobPage {
  jobs: JobRecord[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

export type WorkerRecordState = 'active' | 'stopped' | 'gone';

/** What a worker says of itself at each heartbeat. */
export interface WorkerHeartbeat {
  id: string;
  host: string;
  pid: number;
  /** stint's version. */
  version: string;
  queues: readonly string[];
  tasks: readonly string[];
  labels: Record<string, string>;
  capacity: Resources;
  inUse: Resources;
  concurrency: number;
  running: number;
  /** How often it heartbeats: it is marked gone after missing three. */
  heartbeatMs: number;
}

export interface WorkerRecord extends WorkerHeartbeat {
  state: WorkerRecordState;
  startedAt: number;
  heartbeatAt: number;
  stoppedAt: number | null;
}

export type ShedPolicy = 'reject' | 'drop_lowest_priority';

export interface QueueSettings {
  name: string;
  /** Pending jobs the queue admits; null for no limit. */
  maxPending: number | null;
  /**
   * At the limit, `reject` fails the submission with a `QueueFullError`; `drop_lowest_priority`
   * cancels the lowest-priority pending job (reason `shed`) when the new one outranks it, and
   * otherwise rejects the new one.
   */
  shedPolicy: ShedPolicy;
  /** At most `limit` starts per `periodMs` across the cluster; null for no limit. */
  rateLimit: { limit: number; periodMs: number } | null;
}

export type QueueSettingsPatch = Partial<Omit<QueueSettings, 'name'>>;

export interface QueueStats {
  name: string;
  settings: QueueSettings;
  pending: number;
  /** Of `pending`, those due now (the rest wait for their `runAt`). */
  due: number;
  running: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  /** Jobs of the queue finished in the last minute (succeeded + failed). */
  finishedLastMinute: number;
  /** Active workers subscribed to the queue. */
  workers: number;
}

export type StoreNotification =
  /** `queues` empty: jobs may have arrived in any queue. */
  | { type: 'jobs-available'; queues: readonly string[]; earliestRunAt: number }
  | { type: 'jobs-finished'; ids: readonly string[] }
  | { type: 'cancel-requested'; ids: readonly string[] }
  | { type: 'flows-finished'; ids: readonly string[] }
  | { type: 'changed' };

export type StoreListener = (notification: StoreNotification) => void;

/** The Store methods of schedules, datasets and backfills (each store implements them in its own module). */
export type ScheduleMethods = Pick<
  Store,
  | 'insertSchedule'
  | 'updateSchedule'
  | 'deleteSchedule'
  | 'getSchedule'
  | 'getScheduleById'
  | 'listSchedules'
  | 'getScheduleEvents'
  | 'dueSchedules'
  | 'nextScheduleWake'
  | 'fireSchedules'
  | 'listScheduleRuns'
  | 'activeScheduleRuns'
  | 'markPartition'
  | 'listDatasets'
  | 'listPartitions'
  | 'readyPartitions'
  | 'completePartitions'
  | 'insertBackfill'
  | 'getBackfill'
  | 'listBackfills'
  | 'updateBackfill'
>;
