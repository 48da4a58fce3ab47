import type { SerializedError } from '../core/errors.js';
import type { JobState } from '../core/job.js';
import type { FlowPatch, FlowRow, StepInsert, StepPatch, StepRow } from '../flow/engine.js';
import type { FailurePolicy } from '../flow/spec.js';
import type { FlowRecord, FlowState, FlowStepRecord, StepJobTemplate, StepState } from '../flow/types.js';

/**
 * Flow rows as both stores read them (JSON as text, times as integer ms, flags as 0/1; the
 * PostgreSQL store casts to match), and their mapping to engine rows and records.
 */
export interface FlowDbRow {
  id: number | string;
  name: string;
  state: FlowState;
  on_failure: FailurePolicy;
  store: string | null;
  output: string | null;
  error: string | null;
  failed_step: string | null;
  open_steps: number;
  active_jobs: number;
  seq: number;
  failures: number;
  revert_failures: number;
  reverting_step: string | null;
  cancel_reason: string | null;
  created_at: number;
  finished_at: number | null;
  metadata: string | null;
  dedup_key: string | null;
}

export interface StepDbRow {
  name: string;
  task: string;
  kind: 'task' | 'map' | 'item';
  parent: string | null;
  idx: number | null;
  state: StepState;
  waiting_on: number;
  deps: string;
  input: string | null;
  map: string | null;
  on_failure: FailurePolicy | null;
  revertible: number | boolean;
  job: string;
  job_id: number | string | null;
  revert_job_id: number | string | null;
  output: string | null;
  error: string | null;
  revert_error: string | null;
  completed_seq: number | null;
  map_total: number | null;
  map_done: number | null;
  /** Joined from the step's job, where read for display. */
  job_state?: JobState | null;
}

const parse = (text: string | null): unknown => (text === null ? null : JSON.parse(text));
const idOf = (v: number | string | null): string | null => (v === null ? null : String(v));

/** The columns the engine locks and reads (`FlowRow`): not the spec, store or output, which can be large. */
export const FLOW_ENGINE_COLUMNS =
  'id, state, on_failure, open_steps, active_jobs, seq, failures, revert_failures, reverting_step, cancel_reason';

export function toFlowRow(
  row: Pick<
    FlowDbRow,
    | 'id'
    | 'state'
    | 'on_failure'
    | 'open_steps'
    | 'active_jobs'
    | 'seq'
    | 'failures'
    | 'revert_failures'
    | 'reverting_step'
    | 'cancel_reason'
  >,
): FlowRow {
  return {
    id: String(row.id),
    state: row.state,
    onFailure: row.on_failure,
    open: row.open_steps,
    active: row.active_jobs,
    seq: row.seq,
    failures: row.failures,
    revertFailures: row.revert_failures,
    revertingStep: row.reverting_step,
    cancelReason: row.cancel_reason,
  };
}

export function toStepRow(row: StepDbRow): StepRow {
  return {
    name: row.name,
    task: row.task,
    kind: row.kind,
    parent: row.parent,
    index: row.idx,
    state: row.state,
    input: parse(row.input),
    map: parse(row.map) as StepRow['map'],
    onFailure: row.on_failure,
    revertible: row.revertible === 1 || row.revertible === true,
    job: JSON.parse(row.job) as StepJobTemplate,
    jobId: idOf(row.job_id),
    mapTotal: row.map_total,
    mapDone: row.map_done,
  };
}

export function toFlowRecord(row: FlowDbRow, counts: Partial<Record<StepState, number>>): FlowRecord {
  return {
    id: String(row.id),
    name: row.name,
    state: row.state,
    onFailure: row.on_failure,
    store: parse(row.store) as Record<string, unknown> | null,
    output: parse(row.output) as Record<string, unknown> | null,
    error: parse(row.error) as SerializedError | null,
    failedStep: row.failed_step,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
    metadata: parse(row.metadata) as Record<string, unknown> | null,
    dedupKey: row.dedup_key,
    counts,
  };
}

export function toFlowStepRecord(row: StepDbRow): FlowStepRecord {
  const live = row.state === 'pending' && row.job_state ? row.job_state : null;
  return {
    name: row.name,
    task: row.task,
    kind: row.kind,
    parent: row.parent,
    index: row.idx,
    state: live === 'running' ? 'running' : row.state,
    jobState: live,
    deps: JSON.parse(row.deps) as string[],
    jobId: idOf(row.job_id),
    revertJobId: idOf(row.revert_job_id),
    output: parse(row.output),
    error: parse(row.error) as SerializedError | null,
    revertError: parse(row.revert_error) as SerializedError | null,
    completedSeq: row.completed_seq,
    items:
      row.kind === 'map' && row.map_total !== null ? { total: row.map_total, done: row.map_done ?? 0 } : null,
  };
}

const FLOW_COLUMNS: Record<string, string> = {
  state: 'state',
  open: 'open_steps',
  active: 'active_jobs',
  seq: 'seq',
  failures: 'failures',
  revertFailures: 'revert_failures',
  revertingStep: 'reverting_step',
  cancelReason: 'cancel_reason',
  error: 'error',
  failedStep: 'failed_step',
  output: 'output',
  finishedAt: 'finished_at',
};

const STEP_COLUMNS: Record<string, string> = {
  state: 'state',
  jobId: 'job_id',
  revertJobId: 'revert_job_id',
  output: 'output',
  error: 'error',
  revertError: 'revert_error',
  completedSeq: 'completed_seq',
  mapTotal: 'map_total',
  mapDone: 'map_done',
};

const JSON_FIELDS = new Set(['error', 'output', 'revertError']);
const ID_FIELDS = new Set(['jobId', 'revertJobId']);

/** A patch as column/value pairs in a stable order (so statements can be cached by their column list). */
export function patchColumns(patch: FlowPatch | StepPatch, kind: 'flow' | 'step'): [string, unknown][] {
  const names = kind === 'flow' ? FLOW_COLUMNS : STEP_COLUMNS;
  const out: [string, unknown][] = [];
  for (const key of Object.keys(names)) {
    if (!(key in patch)) continue;
    const value = (patch as Record<string, unknown>)[key];
    const column = names[key] as string;
    if (JSON_FIELDS.has(key))
      out.push([column, value === null || value === undefined ? null : JSON.stringify(value)]);
    else if (ID_FIELDS.has(key)) out.push([column, value === null ? null : Number(value)]);
    else out.push([column, value]);
  }
  return out;
}

/** A step to insert, as column values in `STEP_INSERT_COLUMNS` order. */
export function stepInsertValues(flowId: number, s: StepInsert): unknown[] {
  return [
    flowId,
    s.name,
    s.task,
    s.kind,
    s.parent,
    s.index,
    'waiting',
    s.waitingOn,
    JSON.stringify(s.deps),
    s.input === undefined ? null : JSON.stringify(s.input),
    s.map === null ? null : JSON.stringify(s.map),
    s.onFailure,
    s.revertible ? 1 : 0,
    JSON.stringify(s.job),
  ];
}

export const STEP_INSERT_COLUMNS =
  'flow_id, name, task, kind, parent, idx, state, waiting_on, deps, input, map, on_failure, revertible, job';
