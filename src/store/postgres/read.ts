import { ConflictError, jobNotFound, ValidationError } from '../../core/errors.js';
import {
  JOB_STATES,
  type JobEvent,
  type JobLogEntry,
  type JobRecord,
  type JobState,
} from '../../core/job.js';
import type { FlowLogEntry } from '../../flow/types.js';
import {
  type EventRow,
  type FlowLogRow,
  type JobRow,
  type LogRow,
  mergeHistory,
  toFlowLogEntry,
  toFlowRef,
  toJobEvent,
  toJobRecord,
  toLogEntry,
  toRowId,
} from '../rows.js';
import { cancelledError, cancelledFlowJob, decodeCursor, encodeCursor, flowJobRetry } from '../rules.js';
import type { JobFilter, JobPage } from '../types.js';
import type { Db, Queryable } from './db.js';
import { nowOf, type TxContext } from './write.js';

export async function getJob(db: Db, on: Queryable, id: string): Promise<JobRecord | null> {
  const rowId = toRowId(id);
  if (rowId === null) return null;
  const [row] = await db.run<JobRow>(on, 'getJob', [rowId]);
  return row ? toJobRecord(row) : null;
}

export async function getJobEvents(db: Db, on: Queryable, id: string): Promise<JobEvent[]> {
  const rowId = toRowId(id);
  if (rowId === null) return [];
  const [row] = await db.run<JobRow>(on, 'getJob', [rowId]);
  if (!row) return [];
  const stored = (await db.run<EventRow>(on, 'jobEvents', [rowId])).map(toJobEvent);
  return mergeHistory(id, row, stored);
}

export async function getFlowLogs(
  db: Db,
  on: Queryable,
  id: string,
  afterId = 0,
  limit = 1000,
): Promise<FlowLogEntry[]> {
  const rowId = toRowId(id);
  if (rowId === null) return [];
  return (await db.run<FlowLogRow>(on, 'flowLogs', [rowId, afterId, limit])).map(toFlowLogEntry);
}

export async function getJobLogs(
  db: Db,
  on: Queryable,
  id: string,
  afterId = 0,
  limit = 1000,
): Promise<JobLogEntry[]> {
  const rowId = toRowId(id);
  if (rowId === null) return [];
  return (await db.run<LogRow>(on, 'jobLogs', [rowId, afterId, limit])).map(toLogEntry);
}

export async function listJobs(db: Db, on: Queryable, filter: JobFilter): Promise<JobPage> {
  const limit = filter.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new ValidationError('limit must be an integer from 1 to 1000', [
      { path: 'limit', message: `got ${limit}` },
    ]);
  }
  const where: string[] = [];
  const values: unknown[] = [];
  const bind = (v: unknown) => {
    values.push(v);
    return `$${values.length}`;
  };
  if (filter.state !== undefined) {
    const states = (typeof filter.state === 'string' ? [filter.state] : [...filter.state]) as JobState[];
    for (const s of states) {
      if (!JOB_STATES.includes(s)) {
        throw new ValidationError(`state must be one of ${JOB_STATES.join(', ')}`, [
          { path: 'state', message: `got ${s}` },
        ]);
      }
    }
    where.push(`state = ANY(${bind(states)}::text[])`);
  }
  if (filter.task !== undefined) where.push(`task = ${bind(filter.task)}`);
  if (filter.queue !== undefined) where.push(`queue = ${bind(filter.queue)}`);
  if (filter.flow !== undefined) where.push(`flow_id = ${bind(toRowId(filter.flow) ?? -1)}`);
  if (filter.cursor !== undefined) where.push(`id < ${bind(decodeCursor(filter.cursor))}`);
  const sql = `${db.statements.listPrefix} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ${bind(limit + 1)}`;
  const rows = await db.runText<JobRow>(on, sql, values);
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    jobs: page.map(toJobRecord),
    nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null,
  };
}

async function lockRow(ctx: TxContext, id: string): Promise<JobRow> {
  const rowId = toRowId(id);
  const [row] = rowId === null ? [] : await ctx.db.run<JobRow>(ctx.tx, 'getJobForUpdate', [rowId]);
  if (!row) throw jobNotFound(id);
  return row;
}

export async function cancelJob(ctx: TxContext, id: string, reason: string): Promise<JobRecord> {
  const { db, tx } = ctx;
  // A job of a flow: its flow is locked first, as completions and flow cancels do (fewer deadlocks).
  const rowId = toRowId(id);
  const [seen] = rowId === null ? [] : await db.run<JobRow>(tx, 'getJob', [rowId]);
  if (seen && seen.flow_id !== null) await db.run(tx, 'lockFlows', [[seen.flow_id]]);
  const row = await lockRow(ctx, id);
  if (row.state === 'pending') {
    const error = JSON.stringify(cancelledError(reason));
    await db.run(tx, 'cancelPending', [ctx.now, error, row.id]);
    await db.run(tx, 'insertEvent', [
      row.id,
      await nowOf(ctx),
      'cancelled',
      row.attempt || null,
      null,
      JSON.stringify({ reason }),
    ]);
    ctx.announce({ type: 'jobs-finished', ids: [id] });
    const flow = toFlowRef(row);
    if (flow) {
      await ctx.flowJobFinished(cancelledFlowJob(flow, reason));
    }
  } else if (row.state === 'running') {
    if (row.cancel_requested === 0) {
      await db.run(tx, 'requestCancel', [row.id]);
      await db.run(tx, 'insertEvent', [
        row.id,
        await nowOf(ctx),
        'cancel_requested',
        row.attempt,
        row.worker_id,
        JSON.stringify({ reason }),
      ]);
      ctx.announce({ type: 'cancel-requested', ids: [id] });
    }
  } else {
    throw new ConflictError(
      `job ${id} is already ${row.state}; only pending or running jobs can be cancelled`,
    );
  }
  return toJobRecord(await lockRow(ctx, id));
}

export async function retryJob(ctx: TxContext, id: string): Promise<JobRecord> {
  const row = await lockRow(ctx, id);
  if (row.state !== 'failed' && row.state !== 'cancelled') {
    throw new ConflictError(`job ${id} is ${row.state}; only failed or cancelled jobs can be retried`);
  }
  if (row.flow_id !== null) throw flowJobRetry(id, row);
  const { db, tx } = ctx;
  await db.run(tx, 'keepStartEventOfFinished', [row.id]);
  await db.run(tx, 'retryFinished', [ctx.now, row.id]);
  await db.run(tx, 'insertEvent', [
    row.id,
    await nowOf(ctx),
    'retried',
    row.attempt,
    null,
    JSON.stringify({ previousState: row.state }),
  ]);
  ctx.announce({ type: 'jobs-available', queues: [row.queue], earliestRunAt: 0 });
  return toJobRecord(await lockRow(ctx, id));
}
