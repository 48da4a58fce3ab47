import { ConflictError, flowNotFound } from '../../core/errors.js';
import {
  cancelFlow as cancelFlowOp,
  type FlowJobOutcome,
  type FlowOps,
  jobsFinished as jobsFinishedOp,
  type Op,
  type StepInsert,
  startFlow,
} from '../../flow/engine.js';
import type { FlowRecord, FlowState, InsertedFlow, NewFlow, StepState } from '../../flow/types.js';
import {
  type FlowDbRow,
  patchColumns,
  type StepDbRow,
  stepInsertValues,
  toFlowRow,
  toStepRow,
} from '../flow-rows.js';
import { retryParams, toRowId } from '../rows.js';
import { cancelledError } from '../rules.js';
import type { Statements } from './db.js';
import { readFlow } from './flow-read.js';
import { patchSql } from './flow-sql.js';
import { nowOf, type TxContext } from './write.js';

/**
 * The flow side of the PostgreSQL store: the engine's `FlowOps` as generators that yield one query
 * (a promise) each, driven by `runAsync` inside the transaction of the calling store method.
 * `FlowOps.now()` is synchronous, so each engine call reads the transaction's time once, first.
 */

/** Drives an engine op: each yielded promise is awaited and its result (or rejection) passed back in. */
export async function runAsync<T>(op: Op<T>): Promise<T> {
  let step = op.next();
  while (!step.done) {
    let value: unknown;
    try {
      value = await step.value;
    } catch (err) {
      step = op.throw(err);
      continue;
    }
    step = op.next(value);
  }
  return step.value;
}

const parse = (text: string | null): unknown => (text === null ? null : JSON.parse(text));

/** The engine's operations on one transaction, at the transaction's time `now`. */
export function pgFlowOps(ctx: TxContext, now: number): FlowOps {
  const { db, tx } = ctx;
  function* q<R>(key: keyof Statements, values: unknown[]): Op<R[]> {
    return (yield db.run<R>(tx, key, values)) as R[];
  }
  function* shaped(text: string, values: unknown[]): Op<void> {
    yield db.runShaped(tx, text, values);
  }

  return {
    now: () => now,
    *lockFlow(flowId) {
      const [row] = yield* q<FlowDbRow>('lockFlow', [flowId]);
      return row ? toFlowRow(row) : null;
    },
    *updateFlow(flowId, p) {
      const cols = patchColumns(p, 'flow');
      if (cols.length === 0) return;
      const sql = patchSql(
        db.schema,
        'flows',
        cols.map((c) => c[0]),
      );
      yield* shaped(sql, [flowId, ...cols.map((c) => c[1])]);
    },
    *getStep(flowId, name) {
      const [row] = yield* q<StepDbRow>('getStep', [flowId, name]);
      return row ? toStepRow(row) : null;
    },
    *stepNames(flowId) {
      return new Set((yield* q<{ name: string }>('stepNames', [flowId])).map((r) => r.name));
    },
    *stepStates(flowId, names) {
      const rows = yield* q<{ name: string; state: StepState }>('stepStates', [flowId, names]);
      return new Map(rows.map((r) => [r.name, r.state]));
    },
    *updateStep(flowId, name, p) {
      const cols = patchColumns(p, 'step');
      if (cols.length === 0) return;
      const sql = patchSql(
        db.schema,
        'flow_steps',
        cols.map((c) => c[0]),
      );
      yield* shaped(sql, [flowId, name, ...cols.map((c) => c[1])]);
    },
    *insertSteps(flowId, steps) {
      if (steps.length === 0) return;
      yield* q('insertSteps', insertStepsParams(flowId, steps));
    },
    *releaseDependents(flowId, name) {
      const rows = yield* q<StepDbRow>('releaseDependents', [flowId, name]);
      return rows.filter((r) => r.waiting_on === 0 && r.state === 'waiting').map(toStepRow);
    },
    *dependentsOf(flowId, name) {
      return (yield* q<{ name: string }>('dependentsOf', [flowId, name])).map((r) => r.name);
    },
    *outputsOf(flowId, names) {
      const rows = yield* q<{ name: string; output: string | null }>('outputsOf', [flowId, names]);
      return new Map(rows.map((r) => [r.name, parse(r.output)]));
    },
    *itemOutputs(flowId, parent) {
      return (yield* q<{ output: string | null }>('itemOutputs', [flowId, parent])).map((r) =>
        parse(r.output),
      );
    },
    *topLevelOutputs(flowId) {
      const rows = yield* q<{ name: string; output: string | null }>('topLevelOutputs', [flowId]);
      return Object.fromEntries(rows.map((r) => [r.name, parse(r.output)]));
    },
    *flowStore(flowId) {
      const [row] = yield* q<{ store: string | null }>('flowStore', [flowId]);
      return row?.store ? (JSON.parse(row.store) as Record<string, unknown>) : null;
    },
    *startItems(flowId, parent, job, limit) {
      const rows = yield* q<{ n: number }>('startItems', [
        now,
        job.task,
        job.queue,
        job.priority,
        ...retryParams(job.retry),
        job.timeoutMs,
        flowId,
        parent,
        limit,
      ]);
      const started = rows[0]?.n ?? 0;
      if (started > 0) ctx.announce({ type: 'jobs-available', queues: [job.queue], earliestRunAt: 0 });
      return started;
    },
    *skipWaiting(flowId, parent) {
      if (parent !== undefined) {
        yield* q('skipWaitingItems', [flowId, parent]);
        return 0;
      }
      const [row] = yield* q<{ n: number }>('skipWaiting', [flowId]);
      return row?.n ?? 0;
    },
    *cancelJobs(flowId, reason) {
      const rows = yield* q<{ kind: 'c' | 'r'; id: number; flow_step: string | null }>('cancelFlowJobs', [
        now,
        JSON.stringify(cancelledError(reason)),
        flowId,
        JSON.stringify({ reason }),
      ]);
      const cancelled = rows.filter((r) => r.kind === 'c');
      const requested = rows.filter((r) => r.kind === 'r').map((r) => String(r.id));
      if (cancelled.length > 0)
        ctx.announce({ type: 'jobs-finished', ids: cancelled.map((c) => String(c.id)) });
      if (requested.length > 0) ctx.announce({ type: 'cancel-requested', ids: requested });
      return { cancelledSteps: cancelled.map((c) => c.flow_step as string), requested: requested.length };
    },
    *lastRevertible(flowId) {
      const [row] = yield* q<StepDbRow>('lastRevertible', [flowId]);
      return row ? toStepRow(row) : null;
    },
    *settleRevertedMaps(flowId) {
      yield* q('settleRevertedMaps', [flowId]);
    },
    *jobInput(jobId) {
      const [row] = yield* q<{ input: string }>('jobInput', [jobId]);
      return row ? parse(row.input) : null;
    },
    *insertJob(job) {
      const [row] = yield* q<{ id: number }>('insertFlowJob', [
        now,
        job.task,
        job.queue,
        JSON.stringify(job.input ?? null),
        job.priority,
        ...retryParams(job.retry),
        job.timeoutMs,
        job.flowId,
        job.step,
        job.role,
      ]);
      // NOTIFYed to other processes by the transaction; this one hears at once.
      ctx.announce({ type: 'jobs-available', queues: [job.queue], earliestRunAt: 0 });
      return String(row?.id);
    },
    flowFinished(flowId) {
      ctx.announce({ type: 'flows-finished', ids: [flowId] });
    },
  };
}

/** Steps as one array per column (after flow_id), then their edges as two arrays. */
function insertStepsParams(flowId: string, steps: readonly StepInsert[]): unknown[] {
  const rows = steps.map((s) => stepInsertValues(Number(flowId), s).slice(1));
  const columns = (rows[0] ?? []).map((_, i) => rows.map((r) => r[i]));
  const edges = steps.flatMap((s) => s.deps.map((dep) => [dep, s.name] as const));
  return [flowId, ...columns, edges.map((e) => e[0]), edges.map((e) => e[1])];
}

/** Moves flows on after some of their jobs ended for good (queued by TxContext.flowJobFinished). */
export async function flowJobsFinished(ctx: TxContext, events: readonly FlowJobOutcome[]): Promise<void> {
  const now = await nowOf(ctx);
  await runAsync(jobsFinishedOp(pgFlowOps(ctx, now), events));
}

export async function insertFlow(ctx: TxContext, flow: NewFlow): Promise<InsertedFlow> {
  const { db, tx } = ctx;
  const now = await nowOf(ctx);
  if (flow.dedup) {
    await db.run(tx, 'lockFlowDedup', [`stint:flow-dedup:${db.schema}`, flow.dedup.key]);
    const [held] = await db.run<{ id: number; state: FlowState; created_at: number }>(tx, 'dedupFlow', [
      flow.dedup.key,
    ]);
    if (held) {
      const live =
        flow.dedup.windowMs === null
          ? held.state === 'running' || held.state === 'reverting'
          : held.created_at + flow.dedup.windowMs > now;
      if (live) return { id: String(held.id), created: false };
    }
  }
  const [row] = await db.run<{ id: number }>(tx, 'insertFlow', [
    now,
    flow.spec.name,
    flow.spec.onFailure ?? 'revert',
    JSON.stringify(flow.spec),
    flow.store === null ? null : JSON.stringify(flow.store),
    flow.steps.length,
    flow.metadata === null ? null : JSON.stringify(flow.metadata),
    flow.dedup?.key ?? null,
  ]);
  const id = String(row?.id);
  const ops = pgFlowOps(ctx, now);
  await runAsync(startFlow(ops, id, flow.steps));
  return { id, created: true };
}

export async function cancelFlow(ctx: TxContext, id: string, reason: string): Promise<FlowRecord> {
  if (toRowId(id) === null || !(await readFlow(ctx.db, ctx.tx, id))) throw flowNotFound(id);
  const now = await nowOf(ctx);
  await runAsync(cancelFlowOp(pgFlowOps(ctx, now), id, reason));
  const flow = await readFlow(ctx.db, ctx.tx, id);
  if (!flow) throw new ConflictError(`flow ${id} disappeared while it was being cancelled`);
  return flow;
}
