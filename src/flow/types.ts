import type { SerializedError } from '../core/errors.js';
import type { JobFlowRef, JobLogEntry, JobState } from '../core/job.js';
import type { RetryPolicy } from '../core/retry.js';
import type { FailurePolicy, FlowSpec } from './spec.js';

/**
 * A flow's life:
 *
 *   running ──all steps done──▶ succeeded  (or failed, when a `continue` step failed)
 *      │
 *      └─step failed (revert) / cancel─▶ reverting ──reverts done──▶ failed | cancelled
 *                                             └─a revert failed for good─▶ revert_failed
 */
export type FlowState = 'running' | 'reverting' | 'succeeded' | 'failed' | 'revert_failed' | 'cancelled';

export const FINISHED_FLOW_STATES: readonly FlowState[] = [
  'succeeded',
  'failed',
  'revert_failed',
  'cancelled',
];

export function isFlowFinished(state: FlowState): boolean {
  return FINISHED_FLOW_STATES.includes(state);
}

/**
 * A step's life: `waiting` for the steps it needs, then `pending` (its job exists; the job says
 * whether it is running), then `succeeded`, `failed` or `cancelled`; `skipped` when it can no
 * longer run. A map step is `running` while its items run. When the flow reverts, a succeeded
 * step with a `revert` goes `reverting` then `reverted` (or `revert_failed`).
 */
export type StepState =
  | 'waiting'
  | 'pending'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'cancelled'
  | 'skipped'
  | 'reverting'
  | 'reverted'
  | 'revert_failed';

/** Which part of a task a flow's job runs. */
export type FlowRole = 'run' | 'revert';

/** What a job of a flow knows about its place in it. */
export type FlowJobRef = JobFlowRef;

/** How a step's job is made: the task's defaults with the step's overrides, fixed at submit. */
export interface StepJobTemplate {
  queue: string;
  priority: number;
  retry: RetryPolicy;
  timeoutMs: number | null;
}

/** A flow as stored: what `client.getFlow(id)` returns. */
export interface FlowRecord {
  id: string;
  name: string;
  state: FlowState;
  onFailure: FailurePolicy;
  store: Record<string, unknown> | null;
  /** On success: every top-level step's output, by step name. */
  output: Record<string, unknown> | null;
  /** The failure that stopped the flow (or the cancel). */
  error: SerializedError | null;
  failedStep: string | null;
  createdAt: number;
  finishedAt: number | null;
  metadata: Record<string, unknown> | null;
  dedupKey: string | null;
  /** Steps by state; map items (`map[i]`) count as steps here, beside their map step. */
  counts: Partial<Record<StepState, number>>;
}

/** One step of a flow, as `flow.status()` shows it. */
export interface FlowStepRecord {
  name: string;
  task: string;
  kind: 'task' | 'map' | 'item';
  /** The map step an item belongs to. */
  parent: string | null;
  index: number | null;
  state: StepState;
  /** The state of the step's job while it has one that has not finished. */
  jobState: JobState | null;
  deps: string[];
  jobId: string | null;
  revertJobId: string | null;
  output: unknown;
  error: SerializedError | null;
  revertError: SerializedError | null;
  /** Completion order among the flow's steps (reverts run in the reverse order). */
  completedSeq: number | null;
  /** A map step: items in all and finished so far. */
  items: { total: number; done: number } | null;
}

/** A flow to store, checked and with each step's job template resolved. */
export interface NewFlow {
  spec: FlowSpec;
  store: Record<string, unknown> | null;
  steps: NewStep[];
  metadata: Record<string, unknown> | null;
  dedup: { key: string; windowMs: number | null } | null;
}

export interface NewStep {
  name: string;
  task: string;
  input: unknown;
  deps: string[];
  map: { over: unknown; concurrency: number | null } | null;
  onFailure: FailurePolicy | null;
  revertible: boolean;
  job: StepJobTemplate;
}

export interface InsertedFlow {
  id: string;
  created: boolean;
}

export interface FlowFilter {
  state?: FlowState | readonly FlowState[];
  name?: string;
  /** Newest first. @default 50 */
  limit?: number;
  cursor?: string;
}

export interface FlowPage {
  flows: FlowRecord[];
  nextCursor: string | null;
}

/** A log line of one of a flow's jobs, with the step it belongs to. */
export interface FlowLogEntry extends JobLogEntry {
  step: string;
  role: FlowRole;
}
