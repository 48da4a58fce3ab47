import { ConflictError, jobNotFound, ValidationError } from '../../core/errors.js';
import {
  JOB_STATES,
  type JobEvent,
  type JobLogEntry,
  type JobRecord,
  type JobState,
} from '../../core/job.js';
import type { FlowLogEntry } from '../../flow/types.js';
import { CREATED_AT_DISORDER_MS, checkListRange, idBoundCte, type ListRange } from '../job-list.js';
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
import { quoteIdent } from './sql.js';
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
    // With a time range, `state || ''` keeps the planner off the partial indexes on state (it
    // cannot prove their predicate): the id range is the bounded walk, while a partial index
    // holds every job of that state in the table (state has no statistics to tell it otherwise).
    const column =
      filter.createdAfter !== undefined || filter.createdBefore !== undefined ? "(state || '')" : 'state';
    where.push(`${column} = ANY(${bind(states)}::text[])`);
  }
  if (filter.task !== undefined) where.push(`task = ${bind(filter.task)}`);
  if (filter.queue !== undefined) where.push(`queue = ${bind(filter.queue)}`);
  if (filter.flow !== undefined) where.push(`flow_id = ${bind(toRowId(filter.flow) ?? -1)}`);
  if (filter.cursor !== undefined) where.push(`id < ${bind(decodeCursor(filter.cursor))}`);
  // A time range bounds the walk by ids (see job-list.ts), found by a statement of its own: with
  // the bounds as values the planner sees how few rows the range holds, and walks the primary key.
  const range = checkListRange(filter);
  const bounds = await idBounds(db, on, range);
  if (range.createdAfter !== null) {
    if (bounds.after !== null) where.push(`id >= ${bind(bounds.after)}`);
    where.push(`created_at >= ${bind(range.createdAfter)}::bigint`);
  }
  if (range.createdBefore !== null) {
    if (bounds.before !== null) where.push(`id < ${bind(bounds.before)}`);
    where.push(`created_at < ${bind(range.createdBefore)}::bigint`);
  }
  if (range.pattern !== null) where.push(`metadata::text ILIKE ${bind(range.pattern)} ESCAPE '\\'`);
  const sql = `${db.statements.listPrefix} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ${bind(limit + 1)}`;
  const rows = await db.runText<JobRow>(on, sql, values);
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    jobs: page.map(toJobRecord),
    nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null,
  };
}

/**
 * The id bounds of a time range: jobs below `after` were created before `createdAfter`, jobs at or
 * above `before` at or after `createdBefore` (each with CREATED_AT_DISORDER_MS of slack). A bound
 * that excludes nothing is null, so a range reaching into the future still sees jobs inserted since
 * this statement.
 */
async function idBounds(
  db: Db,
  on: Queryable,
  range: ListRange,
): Promise<{ after: number | null; before: number | null }> {
  if (range.createdAfter === null && range.createdBefore === null) return { after: null, before: null };
  const jobs = `${quoteIdent(db.schema)}.jobs`;
  const ctes: string[] = [];
  const columns: string[] = [];
  const values: number[] = [];
  const add = (name: string, threshold: number) => {
    values.push(threshold);
    const t = `$${values.length}::bigint`;
    ctes.push(idBoundCte(name, jobs, '0::bigint', () => t));
    columns.push(`(SELECT max(lo) FROM ${name}) AS ${name}`, `(SELECT max(hi) FROM ${name}) AS ${name}_top`);
  };
  if (range.createdAfter !== null) add('after_id', range.createdAfter - CREATED_AT_DISORDER_MS);
  if (range.createdBefore !== null) add('before_id', range.createdBefore + CREATED_AT_DISORDER_MS);
  const [row] = await db.runText<Record<string, string | null>>(
    on,
    `WITH RECURSIVE ${ctes.join(', ')} SELECT ${columns.join(', ')}`,
    values,
  );
  const after = Number(row?.after_id ?? 0);
  const before = Number(row?.before_id ?? 0);
  return {
    after: after > 0 ? after : null,
    before: range.createdBefore !== null && before < Number(row?.before_id_top ?? 0) ? before : null,
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
