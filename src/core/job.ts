import type { SerializedError } from './errors.js';
import type { ConcurrencyLimit, Placement } from './placement.js';
import type { RetryPolicy } from './retry.js';

/** A job's place in a flow: which step, and whether it runs the task or reverts it. */
export interface JobFlowRef {
  id: string;
  step: string;
  role: 'run' | 'revert';
}

/**
 * A job's life:
 *
 *   pending ──claim──▶ running ──▶ succeeded
 *      ▲  │               │ └────▶ failed      (no attempts left, or a permanent error)
 *      │  │               │ └────▶ cancelled   (cancel requested while running)
 *      │  │               └─retry/lease expired/released─▶ pending
 *      │  └──cancel──▶ cancelled
 *      └──manual retry── failed | cancelled
 *
 * `pending` includes delayed jobs (`runAt` in the future).
 */
export type JobState = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export const JOB_STATES: readonly JobState[] = ['pending', 'running', 'succeeded', 'failed', 'cancelled'];
export const FINISHED_STATES: readonly JobState[] = ['succeeded', 'failed', 'cancelled'];

export function isFinished(state: JobState): boolean {
  return state === 'succeeded' || state === 'failed' || state === 'cancelled';
}

const TRANSITIONS: Record<JobState, readonly JobState[]> = {
  pending: ['running', 'cancelled'],
  running: ['succeeded', 'failed', 'cancelled', 'pending'],
  succeeded: [],
  failed: ['pending'],
  cancelled: ['pending'],
};

export function canTransition(from: JobState, to: JobState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** What the history of a job is made of. `created` is read from the job row itself. */
export type JobEventType =
  | 'created'
  | 'started'
  | 'succeeded'
  | 'failed'
  | 'retry_scheduled'
  | 'lease_expired'
  | 'released'
  | 'cancel_requested'
  | 'cancelled'
  | 'retried'
  | 'stale_completion';

export interface JobEvent {
  jobId: string;
  at: number;
  type: JobEventType;
  attempt: number | null;
  workerId: string | null;
  detail: Record<string, unknown> | null;
}

export interface JobProgress {
  done: number;
  total: number | null;
}

/** A job as stored: what `client.get(id)` returns. Times are milliseconds since the epoch. */
export interface JobRecord {
  id: string;
  task: string;
  queue: string;
  state: JobState;
  input: unknown;
  output: unknown;
  error: SerializedError | null;
  priority: number;
  runAt: number;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  /** Attempts started so far (counting across manual retries). */
  attempt: number;
  maxAttempts: number;
  timeoutMs: number | null;
  workerId: string | null;
  leaseExpiresAt: number | null;
  cancelRequested: boolean;
  progress: JobProgress | null;
  metadata: Record<string, unknown> | null;
  dedupKey: string | null;
  /** The flow step this job runs (or reverts), if any. */
  flow: JobFlowRef | null;
  /** What the job needs of its worker, or null when any worker of its queue may run it. */
  placement: Placement | null;
  concurrency: ConcurrencyLimit | null;
  /** Pending and no live worker of its queue could ever run it: why (cleared when one could). */
  unplaceable: string | null;
  /** The submission's change to the task's sandbox, or null. */
  sandbox: SandboxOverride | null;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Where a log line came from: `ctx.log`, or the stdout / stderr of a process or shell sandbox. */
export type LogStream = 'log' | 'stdout' | 'stderr';

/** What a submission changes of its task's sandbox (stored with the job; see task/sandbox.ts). */
export interface SandboxOverride {
  kind?: 'inline' | 'process';
  memoryMb?: number;
}

export interface JobLogEntry {
  id: number;
  jobId: string;
  attempt: number;
  at: number;
  level: LogLevel;
  stream: LogStream;
  message: string;
  fields: Record<string, unknown> | null;
}

/** A job handed to a worker by a claim. */
export interface ClaimedJob {
  id: string;
  task: string;
  queue: string;
  input: unknown;
  priority: number;
  attempt: number;
  /** Attempts used in this run (since creation or the last manual retry), this one included. */
  attemptsUsed: number;
  retry: RetryPolicy;
  timeoutMs: number | null;
  metadata: Record<string, unknown> | null;
  createdAt: number;
  flow: JobFlowRef | null;
  /** What the job takes of the worker while it runs (the worker gives it back when the job ends). */
  placement: Placement | null;
  /** The submission's change to the task's sandbox, or null. */
  sandbox: SandboxOverride | null;
}
