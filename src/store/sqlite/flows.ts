import type Database from 'better-sqlite3';
import { StoreError } from '../../core/errors.js';
import {
  cancelFlow as cancelFlowOp,
  type FlowJobOutcome,
  type FlowOps,
  type FlowRow,
  jobsFinished,
  type Op,
  type StepRow,
  startFlow,
} from '../../flow/engine.js';
import type {
  FlowFilter,
  FlowPage,
  FlowRecord,
  FlowState,
  FlowStepRecord,
  InsertedFlow,
  NewFlow,
  StepState,
} from '../../flow/types.js';
import {
  FLOW_ENGINE_COLUMNS,
  type FlowDbRow,
  patchColumns,
  STEP_INSERT_COLUMNS,
  type StepDbRow,
  stepInsertValues,
  toFlowRecord,
  toFlowRow,
  toFlowStepRecord,
  toStepRow,
} from '../flow-rows.js';
import { retryParams, toRowId } from '../rows.js';
import { decodeCursor, encodeCursor } from '../rules.js';
import type { WriteContext } from './write.js';

const SQL = {
  insertFlow: `INSERT INTO flows (name, state, on_failure, spec, store, open_steps, created_at, metadata, dedup_key)
    VALUES (?, 'running', ?, ?, ?, ?, ?, ?, ?)`,
  dedupFlow: 'SELECT id, state, created_at FROM flows WHERE dedup_key = ? ORDER BY id DESC LIMIT 1',
  getFlow: 'SELECT * FROM flows WHERE id = ?',
  lockFlow: `SELECT ${FLOW_ENGINE_COLUMNS} FROM flows WHERE id = ?`,
  flowState: 'SELECT state FROM flows WHERE id = ?',
  flowStore: 'SELECT store FROM flows WHERE id = ?',
  stepCounts: 'SELECT state, count(*) AS n FROM flow_steps WHERE flow_id = ? GROUP BY state',
  insertStep: `INSERT INTO flow_steps (${STEP_INSERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  insertEdge: 'INSERT OR IGNORE INTO flow_edges (flow_id, from_step, to_step) VALUES (?, ?, ?)',
  getStep: 'SELECT * FROM flow_steps WHERE flow_id = ? AND name = ?',
  stepNames: 'SELECT name FROM flow_steps WHERE flow_id = ?',
  stepStates: `SELECT name, state FROM flow_steps WHERE flow_id = ? AND name IN (SELECT value FROM json_each(?))`,
  releaseDependents: `UPDATE flow_steps SET waiting_on = waiting_on - 1
    WHERE flow_id = ? AND name IN (SELECT to_step FROM flow_edges WHERE flow_id = ? AND from_step = ?)
    RETURNING *`,
  dependentsOf: 'SELECT to_step AS name FROM flow_edges WHERE flow_id = ? AND from_step = ?',
  outputsOf: `SELECT name, output FROM flow_steps WHERE flow_id = ? AND name IN (SELECT value FROM json_each(?))`,
  itemOutputs: `SELECT output FROM flow_steps WHERE flow_id = ? AND parent = ? ORDER BY idx`,
  topLevelOutputs: `SELECT name, output FROM flow_steps WHERE flow_id = ? AND parent IS NULL AND state = 'succeeded'
    ORDER BY rowid`,
  /**
   * (task, queue, priority, now, now, max_attempts, backoff_ms, factor, max_ms, jitter, timeout_ms, flow_id,
   *  parent, limit) -> the jobs of a map's next waiting items, in item order
   */
  startItems: `INSERT INTO jobs (task, queue, state, input, priority, run_at, created_at, max_attempts, backoff_ms,
      backoff_factor, backoff_max_ms, backoff_jitter, timeout_ms, flow_id, flow_step, flow_role)
    SELECT ?, ?, 'pending', coalesce(input, 'null'), ?, ?, ?, ?, ?, ?, ?, ?, ?, flow_id, name, 'run' FROM flow_steps
    WHERE flow_id = ? AND parent = ? AND state = 'waiting' ORDER BY idx LIMIT ?
    RETURNING id, flow_step`,
  /** (job_id, flow_id, name) */
  markItemPending: `UPDATE flow_steps SET state = 'pending', job_id = ? WHERE flow_id = ? AND name = ?`,
  skipWaiting: `UPDATE flow_steps SET state = 'skipped' WHERE flow_id = ? AND state = 'waiting' RETURNING parent`,
  skipWaitingItems: `UPDATE flow_steps SET state = 'skipped' WHERE flow_id = ? AND parent = ? AND state = 'waiting'`,
  cancelPendingJobs: `UPDATE jobs SET state = 'cancelled', error = ?, finished_at = ?
    WHERE flow_id = ? AND state = 'pending' AND flow_role = 'run' RETURNING id, flow_step`,
  requestCancelJobs: `UPDATE jobs SET cancel_requested = 1
    WHERE flow_id = ? AND state = 'running' AND flow_role = 'run' AND cancel_requested = 0 RETURNING id, attempt, worker_id`,
  lastRevertible: `SELECT * FROM flow_steps WHERE flow_id = ? AND state = 'succeeded' AND revertible = 1 AND kind <> 'map'
      AND completed_seq IS NOT NULL ORDER BY completed_seq DESC LIMIT 1`,
  settleRevertedMaps: `UPDATE flow_steps SET state = CASE WHEN EXISTS (SELECT 1 FROM flow_steps i WHERE i.flow_id = flow_steps.flow_id
        AND i.parent = flow_steps.name AND i.state = 'revert_failed') THEN 'revert_failed' ELSE 'reverted' END
    WHERE flow_id = ? AND kind = 'map' AND state = 'succeeded' AND EXISTS (SELECT 1 FROM flow_steps i
      WHERE i.flow_id = flow_steps.flow_id AND i.parent = flow_steps.name AND i.state IN ('reverted', 'revert_failed'))`,
  jobInput: 'SELECT input FROM jobs WHERE id = ?',
  insertFlowJob: `INSERT INTO jobs (task, queue, state, input, priority, run_at, created_at, max_attempts, backoff_ms,
      backoff_factor, backoff_max_ms, backoff_jitter, timeout_ms, flow_id, flow_step, flow_role)
    VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  listSteps: `SELECT s.*, j.state AS job_state FROM flow_steps s LEFT JOIN jobs j ON j.id = s.job_id
    WHERE s.flow_id = ? ORDER BY s.parent IS NOT NULL, s.rowid`,
} as const;

type Stmts = { [K in keyof typeof SQL]: Database.Statement };

/**
 * Wraps a synchronous function as an engine op: SQLite answers at once, so the generator returns
 * without ever yielding (the engine drives it to completion in one `next()`).
 */
function op<A extends unknown[], T>(fn: (...args: A) => T): (...args: A) => Op<T> {
  // biome-ignore lint/correctness/useYield: a SQLite op never waits; the generator only fits the Op type.
  return function* (...args: A): Op<T> {
    return fn(...args);
  };
}

/** Runs an engine op whose steps never wait (SQLite answers synchronously). */
export function runSync<T>(op: Op<T>): T {
  const step = op.next();
  if (!step.done) throw new StoreError('a SQLite flow operation tried to wait');
  return step.value;
}

/** The flow side of the SQLite store: statements prepared once, engine ops, reads. */
export function createSqliteFlows(db: Database.Database, ctx: WriteContext) {
  const prepared = new Map<string, Database.Statement>();
  const stmt = (key: keyof typeof SQL): Database.Statement => {
    let s = prepared.get(key);
    if (!s) {
      s = db.prepare(SQL[key]);
      prepared.set(key, s);
    }
    return s;
  };
  const stmts = new Proxy({} as Stmts, { get: (_, key) => stmt(key as keyof typeof SQL) });
  const patchStmts = new Map<string, Database.Statement>();
  const patch = (table: 'flows' | 'flow_steps', cols: [string, unknown][], where: string) => {
    const key = `${table}:${cols.map((c) => c[0]).join(',')}`;
    let s = patchStmts.get(key);
    if (!s) {
      s = db.prepare(`UPDATE ${table} SET ${cols.map((c) => `${c[0]} = ?`).join(', ')} WHERE ${where}`);
      patchStmts.set(key, s);
    }
    return s;
  };

  const finishedFlows: string[] = [];
  const jobEvents: FlowJobOutcome[] = [];

  const ops: FlowOps = {
    now: () => ctx.now(),
    lockFlow: op((flowId) => {
      const row = stmts.lockFlow.get(Number(flowId)) as FlowDbRow | undefined;
      return row ? toFlowRow(row) : null;
    }),
    flowStore: op((flowId) => {
      const row = stmts.flowStore.get(Number(flowId)) as { store: string | null } | undefined;
      return row?.store ? (JSON.parse(row.store) as Record<string, unknown>) : null;
    }),
    updateFlow: op((flowId, p) => {
      const cols = patchColumns(p, 'flow');
      if (cols.length > 0) patch('flows', cols, 'id = ?').run(...cols.map((c) => c[1]), Number(flowId));
    }),
    getStep: op((flowId, name) => {
      const row = stmts.getStep.get(Number(flowId), name) as StepDbRow | undefined;
      return row ? toStepRow(row) : null;
    }),
    stepNames: op((flowId) => {
      return new Set((stmts.stepNames.all(Number(flowId)) as { name: string }[]).map((r) => r.name));
    }),
    stepStates: op((flowId, names) => {
      const rows = stmts.stepStates.all(Number(flowId), JSON.stringify(names)) as {
        name: string;
        state: StepState;
      }[];
      return new Map(rows.map((r) => [r.name, r.state]));
    }),
    updateStep: op((flowId, name, p) => {
      const cols = patchColumns(p, 'step');
      if (cols.length > 0)
        patch('flow_steps', cols, 'flow_id = ? AND name = ?').run(
          ...cols.map((c) => c[1]),
          Number(flowId),
          name,
        );
    }),
    insertSteps: op((flowId, steps) => {
      const id = Number(flowId);
      for (const s of steps) {
        stmts.insertStep.run(...stepInsertValues(id, s));
        for (const dep of s.deps) stmts.insertEdge.run(id, dep, s.name);
      }
    }),
    releaseDependents: op((flowId, name) => {
      const id = Number(flowId);
      const rows = stmts.releaseDependents.all(id, id, name) as StepDbRow[];
      return rows.filter((r) => r.waiting_on === 0 && r.state === 'waiting').map(toStepRow);
    }),
    dependentsOf: op((flowId, name) => {
      return (stmts.dependentsOf.all(Number(flowId), name) as { name: string }[]).map((r) => r.name);
    }),
    outputsOf: op((flowId, names) => {
      const rows = stmts.outputsOf.all(Number(flowId), JSON.stringify(names)) as {
        name: string;
        output: string | null;
      }[];
      return new Map(rows.map((r) => [r.name, r.output === null ? null : JSON.parse(r.output)]));
    }),
    itemOutputs: op((flowId, parent) => {
      const rows = stmts.itemOutputs.all(Number(flowId), parent) as { output: string | null }[];
      return rows.map((r) => (r.output === null ? null : JSON.parse(r.output)));
    }),
    topLevelOutputs: op((flowId) => {
      const rows = stmts.topLevelOutputs.all(Number(flowId)) as { name: string; output: string | null }[];
      return Object.fromEntries(rows.map((r) => [r.name, r.output === null ? null : JSON.parse(r.output)]));
    }),
    startItems: op((flowId, parent, job, limit) => {
      const now = ctx.now();
      const rows = stmts.startItems.all(
        job.task,
        job.queue,
        job.priority,
        now,
        now,
        ...retryParams(job.retry),
        job.timeoutMs,
        Number(flowId),
        parent,
        limit ?? -1,
      ) as { id: number; flow_step: string }[];
      if (rows.length === 0) return 0;
      // One statement a row: a join against a JSON list of them would make SQLite scan per element.
      for (const r of rows) stmts.markItemPending.run(r.id, Number(flowId), r.flow_step);
      ctx.announce({ type: 'jobs-available', queues: [job.queue], earliestRunAt: now });
      return rows.length;
    }),
    skipWaiting: op((flowId, parent) => {
      if (parent !== undefined) {
        stmts.skipWaitingItems.run(Number(flowId), parent);
        return 0;
      }
      const rows = stmts.skipWaiting.all(Number(flowId)) as { parent: string | null }[];
      return rows.filter((r) => r.parent === null).length;
    }),
    cancelJobs: op((flowId, reason) => {
      const now = ctx.now();
      const error = JSON.stringify({ name: 'JobCancelledError', code: 'JOB_CANCELLED', message: reason });
      const cancelled = stmts.cancelPendingJobs.all(error, now, Number(flowId)) as {
        id: number;
        flow_step: string;
      }[];
      for (const c of cancelled)
        ctx.stmts.insertEvent.run(c.id, now, 'cancelled', null, null, JSON.stringify({ reason }));
      const requested = stmts.requestCancelJobs.all(Number(flowId)) as {
        id: number;
        attempt: number;
        worker_id: string | null;
      }[];
      for (const r of requested)
        ctx.stmts.insertEvent.run(
          r.id,
          now,
          'cancel_requested',
          r.attempt,
          r.worker_id,
          JSON.stringify({ reason }),
        );
      if (cancelled.length > 0)
        ctx.announce({ type: 'jobs-finished', ids: cancelled.map((c) => String(c.id)) });
      if (requested.length > 0)
        ctx.announce({ type: 'cancel-requested', ids: requested.map((r) => String(r.id)) });
      return { cancelledSteps: cancelled.map((c) => c.flow_step), requested: requested.length };
    }),
    settleRevertedMaps: op((flowId) => {
      stmts.settleRevertedMaps.run(Number(flowId));
    }),
    lastRevertible: op((flowId) => {
      const row = stmts.lastRevertible.get(Number(flowId)) as StepDbRow | undefined;
      return row ? toStepRow(row) : null;
    }),
    jobInput: op((jobId) => {
      const row = stmts.jobInput.get(Number(jobId)) as { input: string } | undefined;
      return row ? JSON.parse(row.input) : null;
    }),
    insertJob: op((job) => {
      const now = ctx.now();
      const result = stmts.insertFlowJob.run(
        job.task,
        job.queue,
        JSON.stringify(job.input ?? null),
        job.priority,
        now,
        now,
        ...retryParams(job.retry),
        job.timeoutMs,
        Number(job.flowId),
        job.step,
        job.role,
      );
      ctx.announce({ type: 'jobs-available', queues: [job.queue], earliestRunAt: now });
      return String(result.lastInsertRowid);
    }),
    flowFinished(flowId) {
      finishedFlows.push(flowId);
    },
  };

  return {
    ops,
    /** The flows that ended in the last transaction (to announce after commit, or forget on rollback). */
    takeFinished: () => finishedFlows.splice(0),
    insertFlow(flow: NewFlow): InsertedFlow {
      const now = ctx.now();
      if (flow.dedup) {
        const held = stmts.dedupFlow.get(flow.dedup.key) as
          | { id: number; state: FlowRecord['state']; created_at: number }
          | undefined;
        if (held) {
          const live =
            flow.dedup.windowMs === null
              ? held.state === 'running' || held.state === 'reverting'
              : held.created_at + flow.dedup.windowMs > now;
          if (live) return { id: String(held.id), created: false };
        }
      }
      const result = stmts.insertFlow.run(
        flow.spec.name,
        flow.spec.onFailure ?? 'revert',
        JSON.stringify(flow.spec),
        flow.store === null ? null : JSON.stringify(flow.store),
        flow.steps.length,
        now,
        flow.metadata === null ? null : JSON.stringify(flow.metadata),
        flow.dedup?.key ?? null,
      );
      const id = String(result.lastInsertRowid);
      runSync(startFlow(ops, id, flow.steps));
      return { id, created: true };
    },
    cancelFlow(id: string, reason: string): FlowRecord | null {
      if (toRowId(id) === null || !stmts.getFlow.get(Number(id))) return null;
      runSync(cancelFlowOp(ops, id, reason));
      return readFlow(id);
    },
    /** Queues a flow job that ended for good; `flushJobEvents` applies the queue, in the same transaction. */
    jobFinished: (event: FlowJobOutcome) => {
      jobEvents.push(event);
    },
    flushJobEvents: () => {
      if (jobEvents.length > 0) runSync(jobsFinished(ops, jobEvents.splice(0)));
    },
    /** After a rollback: forget what the transaction queued. */
    discard: () => {
      jobEvents.length = 0;
      finishedFlows.length = 0;
    },
    getFlow: (id: string) => readFlow(id),
    getFlowState(id: string): FlowState | null {
      const rowId = toRowId(id);
      const row =
        rowId === null ? undefined : (stmts.flowState.get(rowId) as { state: FlowState } | undefined);
      return row?.state ?? null;
    },
    getFlowSteps(id: string): FlowStepRecord[] | null {
      if (toRowId(id) === null || !stmts.getFlow.get(Number(id))) return null;
      return (stmts.listSteps.all(Number(id)) as StepDbRow[]).map(toFlowStepRecord);
    },
    listFlows(filter: FlowFilter): FlowPage {
      const where: string[] = [];
      const params: unknown[] = [];
      const states =
        filter.state === undefined ? [] : Array.isArray(filter.state) ? filter.state : [filter.state];
      if (states.length > 0) {
        where.push(`state IN (${states.map(() => '?').join(', ')})`);
        params.push(...states);
      }
      if (filter.name !== undefined) {
        where.push('name = ?');
        params.push(filter.name);
      }
      if (filter.cursor !== undefined) {
        where.push('id < ?');
        params.push(decodeCursor(filter.cursor));
      }
      const limit = filter.limit ?? 50;
      const sql = `SELECT * FROM flows ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
      const rows = db.prepare(sql).all(...params, limit + 1) as FlowDbRow[];
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return {
        flows: page.map((r) => toFlowRecord(r, counts(Number(r.id)))),
        nextCursor: rows.length > limit && last ? encodeCursor(Number(last.id)) : null,
      };
    },
  };

  function counts(id: number): Partial<Record<StepState, number>> {
    const rows = stmts.stepCounts.all(id) as { state: StepState; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.state, r.n]));
  }

  function readFlow(id: string): FlowRecord | null {
    const rowId = toRowId(id);
    const row = rowId === null ? undefined : (stmts.getFlow.get(rowId) as FlowDbRow | undefined);
    return row ? toFlowRecord(row, counts(rowId as number)) : null;
  }
}

export type SqliteFlows = ReturnType<typeof createSqliteFlows>;
export type { FlowRow, StepRow };
