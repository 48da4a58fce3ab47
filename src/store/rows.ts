import type { SerializedError } from '../core/errors.js';
import type {
  ClaimedJob,
  JobEvent,
  JobEventType,
  JobFlowRef,
  JobLogEntry,
  JobRecord,
  JobState,
  LogLevel,
  LogStream,
  SandboxOverride,
} from '../core/job.js';
import type { ConcurrencyLimit, Placement } from '../core/placement.js';
import type { RetryPolicy } from '../core/retry.js';
import type { FlowLogEntry } from '../flow/types.js';
import type { TaskDefaults } from './types.js';

/**
 * Job rows as the stores read them (JSON columns as text, times as integer ms, flags as 0/1), and
 * their mapping to the store types. SQLite returns them so; the PostgreSQL store casts to match.
 */
export interface JobRow {
  id: number;
  task: string;
  queue: string;
  state: JobState;
  input: string;
  output: string | null;
  error: string | null;
  priority: number;
  run_at: number;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  attempt: number;
  attempt_base: number;
  max_attempts: number;
  backoff_ms: number;
  backoff_factor: number;
  backoff_max_ms: number;
  backoff_jitter: number;
  timeout_ms: number | null;
  worker_id: string | null;
  lease_expires_at: number | null;
  cancel_requested: number;
  progress_done: number | null;
  progress_total: number | null;
  metadata: string | null;
  dedup_key: string | null;
  flow_id: number | string | null;
  flow_step: string | null;
  flow_role: 'run' | 'revert' | null;
  placement: string | null;
  concurrency_key: string | null;
  concurrency_limit: number | null;
  unplaceable: string | null;
  /** Absent from reads that do not select it. */
  sandbox?: string | null;
}

export type ClaimRow = Pick<
  JobRow,
  | 'id'
  | 'task'
  | 'queue'
  | 'input'
  | 'priority'
  | 'attempt'
  | 'attempt_base'
  | 'max_attempts'
  | 'backoff_ms'
  | 'backoff_factor'
  | 'backoff_max_ms'
  | 'backoff_jitter'
  | 'timeout_ms'
  | 'metadata'
  | 'created_at'
  | 'flow_id'
  | 'flow_step'
  | 'flow_role'
  | 'placement'
  | 'sandbox'
>;

export interface EventRow {
  job_id: number;
  at: number;
  type: JobEventType;
  attempt: number | null;
  worker_id: string | null;
  detail: string | null;
}

export interface LogRow {
  id: number;
  job_id: number;
  attempt: number;
  at: number;
  level: LogLevel;
  /** Absent in rows read before migration 0004. */
  stream?: LogStream;
  message: string;
  fields: string | null;
}

const parse = (text: string | null): unknown => (text === null ? null : JSON.parse(text));

export function toJobRecord(row: JobRow): JobRecord {
  return {
    id: String(row.id),
    task: row.task,
    queue: row.queue,
    state: row.state,
    input: parse(row.input),
    output: parse(row.output),
    error: parse(row.error) as SerializedError | null,
    priority: row.priority,
    runAt: row.run_at,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    attempt: row.attempt,
    maxAttempts: row.max_attempts,
    timeoutMs: row.timeout_ms,
    workerId: row.worker_id,
    leaseExpiresAt: row.lease_expires_at,
    cancelRequested: row.cancel_requested === 1,
    progress: row.progress_done === null ? null : { done: row.progress_done, total: row.progress_total },
    metadata: parse(row.metadata) as Record<string, unknown> | null,
    dedupKey: row.dedup_key,
    flow: toFlowRef(row),
    placement: parse(row.placement) as Placement | null,
    concurrency:
      row.concurrency_key === null ? null : { key: row.concurrency_key, limit: row.concurrency_limit ?? 1 },
    unplaceable: row.unplaceable,
    sandbox: row.sandbox ? (JSON.parse(row.sandbox) as SandboxOverride) : null,
  };
}

/** The flow columns of a job row as a reference, or null for a job outside flows. */
export function toFlowRef(row: Pick<JobRow, 'flow_id' | 'flow_step' | 'flow_role'>): JobFlowRef | null {
  if (row.flow_id === null || row.flow_step === null) return null;
  return { id: String(row.flow_id), step: row.flow_step, role: row.flow_role ?? 'run' };
}

export type RetryColumns = Pick<
  JobRow,
  'max_attempts' | 'backoff_ms' | 'backoff_factor' | 'backoff_max_ms' | 'backoff_jitter'
>;

/** A row of the task registry, as both stores read it. */
export type TaskRow = RetryColumns & {
  name: string;
  queue: string;
  priority: number;
  timeout_ms: number | null;
  revertible: number | boolean;
  placement?: string | null;
  concurrency?: string | null;
};

export function toTaskDefaults(row: TaskRow): TaskDefaults {
  return {
    name: row.name,
    queue: row.queue,
    priority: row.priority,
    retry: toRetryPolicy(row),
    timeoutMs: row.timeout_ms,
    revertible: row.revertible === 1 || row.revertible === true,
    placement: parse(row.placement ?? null) as Placement | null,
    concurrency: parse(row.concurrency ?? null) as ConcurrencyLimit | null,
  };
}

export function toRetryPolicy(row: RetryColumns): RetryPolicy {
  return {
    maxAttempts: row.max_attempts,
    baseMs: row.backoff_ms,
    factor: row.backoff_factor,
    maxMs: row.backoff_max_ms,
    jitter: row.backoff_jitter,
  };
}

/** The retry policy as bound parameters, in column order. */
export function retryParams(p: RetryPolicy): [number, number, number, number, number] {
  return [p.maxAttempts, p.baseMs, p.factor, p.maxMs, p.jitter];
}

export function toClaimedJob(row: ClaimRow): ClaimedJob {
  return {
    id: String(row.id),
    task: row.task,
    queue: row.queue,
    input: JSON.parse(row.input),
    priority: row.priority,
    attempt: row.attempt,
    attemptsUsed: row.attempt - row.attempt_base,
    retry: toRetryPolicy(row),
    timeoutMs: row.timeout_ms,
    metadata: parse(row.metadata) as Record<string, unknown> | null,
    createdAt: row.created_at,
    flow: toFlowRef(row),
    placement: parse(row.placement) as Placement | null,
    sandbox: row.sandbox ? (JSON.parse(row.sandbox) as SandboxOverride) : null,
  };
}

export function toJobEvent(row: EventRow): JobEvent {
  return {
    jobId: String(row.job_id),
    at: row.at,
    type: row.type,
    attempt: row.attempt,
    workerId: row.worker_id,
    detail: parse(row.detail) as Record<string, unknown> | null,
  };
}

export function toLogEntry(row: LogRow): JobLogEntry {
  return {
    id: row.id,
    jobId: String(row.job_id),
    attempt: row.attempt,
    at: row.at,
    level: row.level,
    stream: row.stream ?? 'log',
    message: row.message,
    fields: parse(row.fields) as Record<string, unknown> | null,
  };
}

/** Job ids are integers in SQLite; anything else cannot name a job. */
export function toRowId(id: string): number | null {
  if (!/^[1-9]\d{0,15}$/.test(id)) return null;
  return Number(id);
}

/**
 * The history of a job. Transitions the job row itself still describes are read from it rather
 * than stored twice, which keeps the common path (claim, then success) to one row write each:
 * - `created`: the row's created_at;
 * - `started` of the current attempt: the row's started_at and worker_id, while set (when an
 *   attempt goes back to pending, its start is written to the events and started_at cleared);
 * - `succeeded`: the row's finished_at.
 * Everything else is a stored event. The merged list is ordered by time, then attempt.
 */
export function mergeHistory(id: string, row: JobRow, stored: JobEvent[]): JobEvent[] {
  const event = (
    type: JobEvent['type'],
    at: number,
    attempt: number | null,
    detail: JobEvent['detail'] = null,
  ): JobEvent => ({
    jobId: id,
    at,
    type,
    attempt,
    workerId: attempt === null ? null : row.worker_id,
    detail,
  });
  const events = [
    event('created', row.created_at, null, row.run_at > row.created_at ? { runAt: row.run_at } : null),
    ...stored,
  ];
  if (row.started_at !== null) events.push(event('started', row.started_at, row.attempt));
  if (row.state === 'succeeded' && row.finished_at !== null)
    events.push(event('succeeded', row.finished_at, row.attempt));
  const rank = (e: JobEvent) =>
    e.type === 'created' ? 0 : e.type === 'started' ? 1 : e.type === 'succeeded' ? 3 : 2;
  // A stale completion names the old attempt but happens during the current one.
  const during = (e: JobEvent) =>
    e.type === 'stale_completion' ? Number(e.detail?.currentAttempt ?? e.attempt ?? 0) : (e.attempt ?? 0);
  return events.sort((a, b) => a.at - b.at || during(a) - during(b) || rank(a) - rank(b));
}

/** A log row of a flow's job, with the job's step and role. */
export type FlowLogRow = LogRow & { flow_step: string; flow_role: 'run' | 'revert' | null };

export function toFlowLogEntry(row: FlowLogRow): FlowLogEntry {
  return { ...toLogEntry(row), step: row.flow_step, role: row.flow_role ?? 'run' };
}
