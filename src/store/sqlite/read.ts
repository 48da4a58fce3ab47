import type Database from 'better-sqlite3';
import { ValidationError } from '../../core/errors.js';
import {
  JOB_STATES,
  type JobEvent,
  type JobLogEntry,
  type JobRecord,
  type JobState,
} from '../../core/job.js';
import { CREATED_AT_DISORDER_MS, checkListRange, idBoundCte } from '../job-list.js';
import {
  type EventRow,
  type JobRow,
  type LogRow,
  mergeHistory,
  toJobEvent,
  toJobRecord,
  toLogEntry,
  toRowId,
} from '../rows.js';
import { decodeCursor, encodeCursor } from '../rules.js';
import type { JobFilter, JobPage } from '../types.js';
import type { Statements } from './statements.js';

export function getJob(stmts: Statements, id: string): JobRecord | null {
  const rowId = toRowId(id);
  if (rowId === null) return null;
  const row = stmts.getJob.get(rowId) as JobRow | undefined;
  return row ? toJobRecord(row) : null;
}

/** The history of a job: its row's own transitions merged with the stored events (see mergeHistory). */
export function getJobEvents(stmts: Statements, id: string): JobEvent[] {
  const rowId = toRowId(id);
  if (rowId === null) return [];
  const row = stmts.getJob.get(rowId) as JobRow | undefined;
  if (!row) return [];
  return mergeHistory(id, row, (stmts.jobEvents.all(rowId) as EventRow[]).map(toJobEvent));
}

export function getJobLogs(stmts: Statements, id: string, afterId = 0, limit = 1000): JobLogEntry[] {
  const rowId = toRowId(id);
  if (rowId === null) return [];
  return (stmts.jobLogs.all(rowId, afterId, limit) as LogRow[]).map(toLogEntry);
}

/** Newest first, by id, with an opaque cursor. Prepared statements are cached per filter shape. */
export function listJobs(
  db: Database.Database,
  cache: Map<string, Database.Statement>,
  filter: JobFilter,
): JobPage {
  const limit = filter.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new ValidationError('limit must be an integer from 1 to 1000', [
      { path: 'limit', message: `got ${limit}` },
    ]);
  }
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.state !== undefined) {
    const states = (typeof filter.state === 'string' ? [filter.state] : [...filter.state]) as JobState[];
    for (const s of states) {
      if (!JOB_STATES.includes(s)) {
        throw new ValidationError(`state must be one of ${JOB_STATES.join(', ')}`, [
          { path: 'state', message: `got ${s}` },
        ]);
      }
    }
    where.push(`state IN (${states.map(() => '?').join(', ')})`);
    params.push(...states);
  }
  if (filter.task !== undefined) {
    where.push('task = ?');
    params.push(filter.task);
  }
  if (filter.queue !== undefined) {
    where.push('queue = ?');
    params.push(filter.queue);
  }
  if (filter.flow !== undefined) {
    where.push('flow_id = ?');
    params.push(toRowId(filter.flow) ?? -1);
  }
  if (filter.cursor !== undefined) {
    where.push('id < ?');
    params.push(decodeCursor(filter.cursor));
  }
  // A time range bounds the walk by ids (see job-list.ts); the CTEs' parameters come first.
  const range = checkListRange(filter);
  const ctes: string[] = [];
  const cteParams: unknown[] = [];
  const idBound = (name: string, threshold: number) => {
    ctes.push(
      idBoundCte(name, 'jobs', '0', () => {
        cteParams.push(threshold);
        return '?';
      }),
    );
    return `(SELECT max(lo) FROM ${name})`;
  };
  if (range.createdAfter !== null) {
    where.push(
      `id >= ${idBound('after_id', range.createdAfter - CREATED_AT_DISORDER_MS)}`,
      'created_at >= ?',
    );
    params.push(range.createdAfter);
  }
  if (range.createdBefore !== null) {
    where.push(
      `id < ${idBound('before_id', range.createdBefore + CREATED_AT_DISORDER_MS)}`,
      'created_at < ?',
    );
    params.push(range.createdBefore);
  }
  if (range.pattern !== null) {
    where.push("metadata LIKE ? ESCAPE '\\'");
    params.push(range.pattern);
  }
  const sql = `${ctes.length ? `WITH RECURSIVE ${ctes.join(', ')} ` : ''}SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
  let stmt = cache.get(sql);
  if (!stmt) {
    stmt = db.prepare(sql);
    cache.set(sql, stmt);
  }
  const rows = stmt.all(...cteParams, ...params, limit + 1) as JobRow[];
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    jobs: page.map(toJobRecord),
    nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null,
  };
}
