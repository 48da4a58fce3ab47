import { ConflictError, FlowReferenceError, type SerializedError, serializeError } from '../core/errors.js';
import type {
  FlowJob,
  FlowJobOutcome,
  FlowOps,
  FlowPatch,
  FlowRow,
  Op,
  StepInsert,
  StepPatch,
  StepRow,
} from './ops.js';
import { hasRefs, referencedSteps, refersToStore, resolveTemplate } from './resolve.js';
import { checkFlowSpec } from './spec.js';
import type { FlowState, NewStep } from './types.js';

export type { FlowJob, FlowJobOutcome, FlowOps, FlowPatch, FlowRow, Op, StepInsert, StepPatch, StepRow };
/**
 * The flow engine: what happens to a flow when one of its jobs finishes, when it starts, and when
 * it is cancelled. It is written once, against `FlowOps`, and runs inside the store transaction that
 * completes the job, so a step's successors are decided in the same commit (no polling round).
 *
 * Every operation is an `Op`: a generator that the SQLite store drives synchronously (its ops never
 * yield) and the PostgreSQL store drives asynchronously (its ops yield a promise per query). That
 * keeps one copy of the rules for both stores, testable without a database.
 */
/**
 * Starts a flow whose row was just inserted: inserts its steps, then every step with nothing to
 * wait for becomes ready.
 */
export function* startFlow(ops: FlowOps, flowId: string, steps: readonly NewStep[]): Op<void> {
  yield* ops.insertSteps(
    flowId,
    steps.map((s) => ({
      ...s,
      kind: s.map ? 'map' : 'task',
      parent: null,
      index: null,
      waitingOn: s.deps.length,
    })),
  );
  const flow = yield* mustLock(ops, flowId);
  const session = new Session(ops, flow);
  for (const name of steps.filter((s) => s.deps.length === 0).map((s) => s.name)) {
    const step = yield* ops.getStep(flowId, name);
    if (step) yield* session.makeReady(step);
  }
  // Every step may have ended already (a map over an empty list, a reference that failed to resolve).
  yield* session.afterEnd();
  yield* session.save();
}

/**
 * Moves flows on after some of their jobs ended for good (retries are not reported here): the jobs
 * a completion batch finished, grouped by flow, so each flow is locked, read and written once per
 * batch however many of its steps ended (a map's items finish many at a time). Flows go in id order.
 */
export function* jobsFinished(ops: FlowOps, events: readonly FlowJobOutcome[]): Op<void> {
  const byFlow = new Map<string, FlowJobOutcome[]>();
  for (const event of events) {
    const list = byFlow.get(event.flowId);
    if (list) list.push(event);
    else byFlow.set(event.flowId, [event]);
  }
  for (const [flowId, list] of [...byFlow].sort((a, b) => Number(a[0]) - Number(b[0]))) {
    const flow = yield* ops.lockFlow(flowId);
    if (!flow) continue;
    const session = new Session(ops, flow);
    for (const event of list) {
      const step = yield* ops.getStep(flowId, event.step);
      if (!step) continue;
      if (event.role === 'revert') yield* session.revertFinished(step, event);
      else yield* session.runFinished(step, event);
    }
    yield* session.save();
  }
}

/** Cancels a running flow: running steps are cancelled and completed ones reverted. */
export function* cancelFlow(ops: FlowOps, flowId: string, reason: string): Op<void> {
  const flow = yield* mustLock(ops, flowId);
  if (flow.state !== 'running')
    throw new ConflictError(`flow ${flowId} is ${flow.state}; only a running flow can be cancelled`);
  const session = new Session(ops, flow);
  yield* session.stop({ name: 'FlowCancelledError', code: 'FLOW_CANCELLED', message: reason }, null, reason);
  yield* session.save();
}

/** Does the step's input (or its map's list) refer to the flow's store? */
function needsStore(step: StepRow): boolean {
  return refersToStore(step.input) || (step.map !== null && refersToStore(step.map.over));
}

function* mustLock(ops: FlowOps, flowId: string): Op<FlowRow> {
  const flow = yield* ops.lockFlow(flowId);
  if (!flow) throw new ConflictError(`flow ${flowId} does not exist`);
  return flow;
}

/** One engine call: the flow row, changed in memory and written back once at the end. */
class Session {
  readonly #ops: FlowOps;
  readonly #flow: FlowRow;
  readonly #patch: FlowPatch = {};
  #store: { value: Record<string, unknown> | null } | null = null;

  constructor(ops: FlowOps, flow: FlowRow) {
    this.#ops = ops;
    this.#flow = flow;
  }

  #set<K extends keyof FlowPatch>(key: K, value: NonNullable<FlowPatch[K]> | null): void {
    (this.#patch as Record<string, unknown>)[key] = value;
    if (key in this.#flow) (this.#flow as unknown as Record<string, unknown>)[key] = value;
  }

  *save(): Op<void> {
    if (Object.keys(this.#patch).length > 0) yield* this.#ops.updateFlow(this.#flow.id, this.#patch);
  }

  get #id(): string {
    return this.#flow.id;
  }

  *#storeValues(): Op<Record<string, unknown> | null> {
    this.#store ??= { value: yield* this.#ops.flowStore(this.#id) };
    return this.#store.value;
  }

  /** A step's run job ended. */
  *runFinished(step: StepRow, event: FlowJobOutcome): Op<void> {
    this.#set('active', this.#flow.active - 1);
    if (event.outcome === 'succeeded') {
      const seq = this.#flow.seq + 1;
      this.#set('seq', seq);
      yield* this.#ops.updateStep(this.#id, step.name, {
        state: 'succeeded',
        output: event.output ?? null,
        completedSeq: seq,
      });
      if (this.#flow.state === 'running') {
        if (event.added && event.added.length > 0) {
          const ok = yield* this.#addSteps(step, event.added);
          if (!ok) return yield* this.afterEnd();
        }
        if (step.parent !== null) yield* this.#itemSucceeded(step);
        else yield* this.#succeeded(step);
      }
    } else {
      const error = event.error ?? { name: 'Error', message: `step ${step.name} ${event.outcome}` };
      yield* this.#failed(step, event.outcome, error);
    }
    yield* this.afterEnd();
  }

  /** A step's revert job ended: record it and revert the next one. */
  *revertFinished(step: StepRow, event: FlowJobOutcome): Op<void> {
    if (event.outcome === 'succeeded') {
      yield* this.#ops.updateStep(this.#id, step.name, { state: 'reverted' });
    } else {
      yield* this.#ops.updateStep(this.#id, step.name, {
        state: 'revert_failed',
        revertError: event.error ?? { name: 'Error', message: `revert ${event.outcome}` },
      });
      this.#set('revertFailures', this.#flow.revertFailures + 1);
    }
    this.#set('revertingStep', null);
    yield* this.#revertNext();
  }

  /** Stops the flow: nothing new starts, running steps are cancelled, then completed ones reverted. */
  *stop(error: SerializedError, failedStep: string | null, cancelReason: string | null = null): Op<void> {
    this.#set('state', 'reverting');
    this.#set('error', error);
    this.#set('failedStep', failedStep);
    if (cancelReason !== null) this.#set('cancelReason', cancelReason);
    yield* this.#ops.skipWaiting(this.#id);
    const { cancelledSteps } = yield* this.#ops.cancelJobs(
      this.#id,
      cancelReason ?? `flow ${this.#id} is reverting after step ${failedStep ?? '?'} failed`,
    );
    for (const name of cancelledSteps) yield* this.#ops.updateStep(this.#id, name, { state: 'cancelled' });
    this.#set('active', this.#flow.active - cancelledSteps.length);
    yield* this.#revertNext();
  }

  /** Makes a step whose dependencies are met run: resolves its input and creates its job (or items). */
  *makeReady(step: StepRow): Op<void> {
    if (this.#flow.state !== 'running') return;
    try {
      const needed = referencedSteps(step.input);
      if (step.map) referencedSteps(step.map.over, needed);
      const outputs = needed.size > 0 ? yield* this.#ops.outputsOf(this.#id, [...needed]) : new Map();
      const scope = { store: needsStore(step) ? yield* this.#storeValues() : null, outputs };
      if (!step.map) {
        const input = hasRefs(step.input) ? resolveTemplate(step.input, scope, step.name) : step.input;
        yield* this.#startJob(step, input ?? null);
        return;
      }
      const over = resolveTemplate(step.map.over, scope, step.name, 'map.over');
      if (!Array.isArray(over))
        throw new FlowReferenceError(
          `step ${step.name}: map.over must be a list, but it is ${over === null ? 'null' : typeof over}`,
        );
      const each = resolveTemplate(step.input, scope, step.name, 'input', true);
      const itemRefs = hasRefs(each);
      const items: StepInsert[] = over.map((item, i) => {
        const name = `${step.name}[${i}]`;
        return {
          name,
          task: step.task,
          kind: 'item',
          parent: step.name,
          index: i,
          input: itemRefs
            ? resolveTemplate(each, { store: null, outputs: new Map(), item }, name)
            : (each ?? null),
          map: null,
          onFailure: step.onFailure,
          revertible: step.revertible,
          job: step.job,
          deps: [],
          waitingOn: 0,
        };
      });
      if (items.length === 0) {
        yield* this.#ops.updateStep(this.#id, step.name, { mapTotal: 0, mapDone: 0 });
        return yield* this.#succeeded(step, []);
      }
      yield* this.#ops.insertSteps(this.#id, items);
      yield* this.#ops.updateStep(this.#id, step.name, {
        state: 'running',
        mapTotal: items.length,
        mapDone: 0,
      });
      const started = yield* this.#ops.startItems(
        this.#id,
        step.name,
        { ...step.job, task: step.task },
        step.map.concurrency,
      );
      this.#set('active', this.#flow.active + started);
    } catch (err) {
      if (!(err instanceof FlowReferenceError)) throw err;
      yield* this.#failed(step, 'failed', serializeError(err));
    }
  }

  *#startJob(step: StepRow, input: unknown): Op<void> {
    const jobId = yield* this.#ops.insertJob({
      ...step.job,
      task: step.task,
      input,
      flowId: this.#id,
      step: step.name,
      role: 'run',
    });
    yield* this.#ops.updateStep(this.#id, step.name, { state: 'pending', jobId });
    this.#set('active', this.#flow.active + 1);
  }

  /** A top-level step succeeded (a task, or a map whose items all did): release what waits on it. */
  *#succeeded(step: StepRow, output?: unknown[]): Op<void> {
    if (output !== undefined) {
      const seq = this.#flow.seq + 1;
      this.#set('seq', seq);
      yield* this.#ops.updateStep(this.#id, step.name, { state: 'succeeded', output, completedSeq: seq });
    }
    this.#set('open', this.#flow.open - 1);
    const ready = yield* this.#ops.releaseDependents(this.#id, step.name);
    for (const next of ready) yield* this.#makeReadyIfRunning(next);
  }

  *#makeReadyIfRunning(step: StepRow): Op<void> {
    if (this.#flow.state === 'running') yield* this.makeReady(step);
  }

  *#itemSucceeded(item: StepRow): Op<void> {
    const parent = yield* this.#ops.getStep(this.#id, item.parent as string);
    if (parent?.state !== 'running') return;
    const done = (parent.mapDone ?? 0) + 1;
    yield* this.#ops.updateStep(this.#id, parent.name, { mapDone: done });
    if (done === parent.mapTotal) {
      const outputs = yield* this.#ops.itemOutputs(this.#id, parent.name);
      return yield* this.#succeeded(parent, outputs);
    }
    // A slot is free: the next waiting item starts (without a cap, every item started at once).
    if (parent.map?.concurrency == null) return;
    const started = yield* this.#ops.startItems(
      this.#id,
      parent.name,
      { ...parent.job, task: parent.task },
      1,
    );
    this.#set('active', this.#flow.active + started);
  }

  /** A step failed or was cancelled for good. */
  *#failed(step: StepRow, outcome: 'failed' | 'cancelled', error: SerializedError): Op<void> {
    yield* this.#ops.updateStep(this.#id, step.name, { state: outcome, error });
    if (this.#flow.state !== 'running') return;
    if (step.parent !== null) {
      const parent = yield* this.#ops.getStep(this.#id, step.parent);
      if (parent?.state !== 'running') return;
      // One failed item fails its map; the items not started yet never will.
      yield* this.#ops.skipWaiting(this.#id, parent.name);
      const wrapped = { ...error, message: `item ${step.index} (${step.name}): ${error.message}` };
      return yield* this.#failed(parent, 'failed', wrapped);
    }
    const policy = step.onFailure ?? this.#flow.onFailure;
    if (policy === 'revert') return yield* this.stop(error, step.name);
    if (this.#flow.failures === 0) {
      this.#set('error', error);
      this.#set('failedStep', step.name);
    }
    this.#set('failures', this.#flow.failures + 1);
    this.#set('open', this.#flow.open - 1);
    yield* this.#skipDependents(step.name);
  }

  /** Under `continue`: everything that needs a failed step (directly or not) is skipped. */
  *#skipDependents(name: string): Op<void> {
    const queue = [name];
    const seen = new Set<string>();
    while (queue.length > 0) {
      const current = queue.shift() as string;
      for (const dep of yield* this.#ops.dependentsOf(this.#id, current)) {
        if (seen.has(dep)) continue;
        seen.add(dep);
        const row = yield* this.#ops.getStep(this.#id, dep);
        if (row?.state !== 'waiting') continue;
        yield* this.#ops.updateStep(this.#id, dep, { state: 'skipped' });
        this.#set('open', this.#flow.open - 1);
        queue.push(dep);
      }
    }
  }

  /**
   * Steps added by a running step, applied with its completion. Returns false when they do not fit
   * the flow: the step's run succeeded (so it is reverted like any other), and the flow stops.
   */
  *#addSteps(step: StepRow, added: readonly NewStep[]): Op<boolean> {
    // Map items are not steps one can wait on (their map step is): they are left out of the known names.
    const known = new Set([...(yield* this.#ops.stepNames(this.#id))].filter((n) => !n.includes('[')));
    try {
      checkFlowSpec(
        {
          name: 'added',
          steps: added.map((s) => ({
            name: s.name,
            task: s.task,
            input: s.input,
            after: s.deps,
            ...(s.map
              ? {
                  map: {
                    over: s.map.over,
                    ...(s.map.concurrency === null ? {} : { concurrency: s.map.concurrency }),
                  },
                }
              : {}),
          })),
        },
        { known, store: yield* this.#storeValues() },
      );
    } catch (err) {
      const error = serializeError(err);
      yield* this.stop({ ...error, message: `steps added by ${step.name}: ${error.message}` }, step.name);
      return false;
    }
    const states = yield* this.#ops.stepStates(
      this.#id,
      added.flatMap((s) => s.deps),
    );
    const isNew = new Set(added.map((s) => s.name));
    // A new step that needs a step which already failed (under `continue`) can never run.
    const dead = (d: string) =>
      !isNew.has(d) &&
      states.get(d) !== 'succeeded' &&
      states.get(d) !== 'waiting' &&
      states.get(d) !== 'pending' &&
      states.get(d) !== 'running';
    const rows: StepInsert[] = added.map((s) => ({
      name: s.name,
      task: s.task,
      kind: s.map ? 'map' : 'task',
      parent: null,
      index: null,
      input: s.input,
      map: s.map,
      onFailure: s.onFailure,
      revertible: s.revertible,
      job: s.job,
      deps: s.deps,
      // Edges from this step are released right after (a top-level step's completion releases its
      // dependents), so it counts as not done yet; other succeeded steps never release again.
      waitingOn: s.deps.filter(
        (d) => isNew.has(d) || (d === step.name && step.parent === null) || states.get(d) !== 'succeeded',
      ).length,
    }));
    yield* this.#ops.insertSteps(this.#id, rows);
    this.#set('open', this.#flow.open + rows.length);
    for (const row of rows) {
      if (!row.deps.some(dead)) continue;
      const current = yield* this.#ops.getStep(this.#id, row.name);
      if (current?.state !== 'waiting') continue;
      yield* this.#ops.updateStep(this.#id, row.name, { state: 'skipped' });
      this.#set('open', this.#flow.open - 1);
      yield* this.#skipDependents(row.name);
    }
    for (const row of rows) {
      if (row.waitingOn > 0) continue;
      const fresh = yield* this.#ops.getStep(this.#id, row.name);
      if (fresh?.state === 'waiting') yield* this.makeReady(fresh);
    }
    return true;
  }

  /** After a job ended: finish the flow when nothing is left, or move its revert on. */
  *afterEnd(): Op<void> {
    const flow = this.#flow;
    if (flow.state === 'running') {
      if (flow.open > 0 || flow.active > 0) return;
      if (flow.failures > 0) return this.#finish('failed');
      this.#set('output', yield* this.#ops.topLevelOutputs(this.#id));
      return this.#finish('succeeded');
    }
    if (flow.state === 'reverting') yield* this.#revertNext();
  }

  /** Once no run job is left, reverts completed steps one at a time, newest completion first. */
  *#revertNext(): Op<void> {
    const flow = this.#flow;
    if (flow.state !== 'reverting' || flow.active > 0 || flow.revertingStep !== null) return;
    const step = yield* this.#ops.lastRevertible(this.#id);
    if (!step || step.jobId === null) {
      yield* this.#ops.settleRevertedMaps(this.#id);
      if (flow.revertFailures > 0) return this.#finish('revert_failed');
      return this.#finish(flow.cancelReason !== null ? 'cancelled' : 'failed');
    }
    const [input, output] = [
      yield* this.#ops.jobInput(step.jobId),
      yield* this.#ops.outputsOf(this.#id, [step.name]),
    ];
    const revertJobId = yield* this.#ops.insertJob({
      ...step.job,
      task: step.task,
      input: { input, output: output.get(step.name) ?? null },
      flowId: this.#id,
      step: step.name,
      role: 'revert',
    });
    yield* this.#ops.updateStep(this.#id, step.name, { state: 'reverting', revertJobId });
    this.#set('revertingStep', step.name);
  }

  #finish(state: FlowState): void {
    this.#set('state', state);
    this.#set('finishedAt', this.#ops.now());
    this.#ops.flowFinished(this.#id);
  }
}
