import type { SerializedError } from '../core/errors.js';
import type { FailurePolicy } from './spec.js';
import type { FlowRole, FlowState, NewStep, StepJobTemplate, StepState } from './types.js';

/**
 * What the flow engine (engine.ts) needs from a store, and the rows it works on. Every operation is
 * an `Op`: a generator that the SQLite store drives synchronously (its ops never yield) and the
 * PostgreSQL store drives asynchronously (its ops yield a promise per query).
 */
export type Op<T> = Generator<unknown, T, unknown>;

/** A flow row as the engine sees it; `lockFlow` returns it and `updateFlow` writes changes back. */
export interface FlowRow {
  id: string;
  state: FlowState;
  onFailure: FailurePolicy;
  /** Top-level steps not finished yet. */
  open: number;
  /** Run jobs not finished yet (map items included). */
  active: number;
  /** Completion counter: each succeeded step takes the next value. */
  seq: number;
  /** Steps that failed under `continue`. */
  failures: number;
  revertFailures: number;
  /** The step whose revert job is running, if any. */
  revertingStep: string | null;
  cancelReason: string | null;
}

export interface StepRow {
  name: string;
  task: string;
  kind: 'task' | 'map' | 'item';
  parent: string | null;
  index: number | null;
  state: StepState;
  input: unknown;
  map: { over: unknown; concurrency: number | null } | null;
  onFailure: FailurePolicy | null;
  revertible: boolean;
  job: StepJobTemplate;
  jobId: string | null;
  mapTotal: number | null;
  mapDone: number | null;
}

export type FlowPatch = Partial<
  Pick<
    FlowRow,
    'state' | 'open' | 'active' | 'seq' | 'failures' | 'revertFailures' | 'revertingStep' | 'cancelReason'
  > & {
    error: SerializedError;
    failedStep: string | null;
    output: Record<string, unknown>;
    finishedAt: number;
  }
>;

export type StepPatch = Partial<{
  state: StepState;
  jobId: string;
  revertJobId: string;
  output: unknown;
  error: SerializedError;
  revertError: SerializedError;
  completedSeq: number;
  mapTotal: number;
  mapDone: number;
}>;

/** A step row to insert: a new step, or a map's item. */
export interface StepInsert {
  name: string;
  task: string;
  kind: 'task' | 'map' | 'item';
  parent: string | null;
  index: number | null;
  input: unknown;
  map: { over: unknown; concurrency: number | null } | null;
  onFailure: FailurePolicy | null;
  revertible: boolean;
  job: StepJobTemplate;
  deps: string[];
  /** Unfinished steps among `deps`. */
  waitingOn: number;
}

/** The job a step needs: the store fills in ids, times and announcements. */
export interface FlowJob extends StepJobTemplate {
  task: string;
  input: unknown;
  flowId: string;
  step: string;
  role: FlowRole;
}

/** What the engine needs from a store, inside one transaction. */
export interface FlowOps {
  now(): number;
  /** The flow, locked against other transactions until commit. */
  lockFlow(flowId: string): Op<FlowRow | null>;
  updateFlow(flowId: string, patch: FlowPatch): Op<void>;
  getStep(flowId: string, name: string): Op<StepRow | null>;
  /** Names of every step of the flow (items included). */
  stepNames(flowId: string): Op<Set<string>>;
  /** The states of the named steps (missing names are absent). */
  stepStates(flowId: string, names: readonly string[]): Op<Map<string, StepState>>;
  updateStep(flowId: string, name: string, patch: StepPatch): Op<void>;
  /** Inserts steps with their dependency edges. */
  insertSteps(flowId: string, steps: readonly StepInsert[]): Op<void>;
  /** Counts `name` done for the steps that wait on it; returns those now waiting on nothing. */
  releaseDependents(flowId: string, name: string): Op<StepRow[]>;
  /** Names of the steps that wait on `name`. */
  dependentsOf(flowId: string, name: string): Op<string[]>;
  /** Outputs of the named (succeeded) steps. */
  outputsOf(flowId: string, names: readonly string[]): Op<Map<string, unknown>>;
  /** Outputs of a map's items, in item order. */
  itemOutputs(flowId: string, parent: string): Op<unknown[]>;
  /** Outputs of top-level succeeded steps, by name. */
  topLevelOutputs(flowId: string): Op<Record<string, unknown>>;
  /** The flow's store values (read only when a step needs them: they can be large). */
  flowStore(flowId: string): Op<Record<string, unknown> | null>;
  /**
   * Starts the first `limit` (null: all) waiting items of a map, in item order: one job each, with
   * the map's job template and the item's input. Returns how many started.
   */
  startItems(
    flowId: string,
    parent: string,
    job: StepJobTemplate & { task: string },
    limit: number | null,
  ): Op<number>;
  /** Marks every waiting step (of `parent` only, when given) skipped; returns how many top-level ones. */
  skipWaiting(flowId: string, parent?: string): Op<number>;
  /**
   * Cancels the flow's unfinished run jobs: pending ones at once (returning their steps), running
   * ones by requesting the cancel (the worker aborts them and reports).
   */
  cancelJobs(flowId: string, reason: string): Op<{ cancelledSteps: string[]; requested: number }>;
  /** The succeeded step with a `revert` that completed last. */
  lastRevertible(flowId: string): Op<StepRow | null>;
  /** After the reverts: map steps whose items were reverted take their items' outcome. */
  settleRevertedMaps(flowId: string): Op<void>;
  /** The input a job ran with. */
  jobInput(jobId: string): Op<unknown>;
  insertJob(job: FlowJob): Op<string>;
  /** The flow ended: tell whoever waits for it (after commit). */
  flowFinished(flowId: string): void;
}

/** What a finished job of a flow reports. */
export interface FlowJobOutcome {
  flowId: string;
  step: string;
  role: FlowRole;
  outcome: 'succeeded' | 'failed' | 'cancelled';
  output?: unknown;
  error?: SerializedError;
  /** Steps the job added to its flow (`ctx.flow.add`), applied only when it succeeded. */
  added?: readonly NewStep[];
}
