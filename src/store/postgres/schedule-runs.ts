import { ValidationError } from '../../core/errors.js';
import type { ScheduleRun, ScheduleRunFilter } from '../../schedule/types.js';
import { toRowId } from '../rows.js';
import { parseRunCursor, runCursor, type ScheduleRunDbRow, toScheduleRun } from '../schedule-rows.js';
import type { Db, Queryable } from './db.js';
import { RUN_ACTIVE, runSchedule, scheduleStatements } from './schedule-sql.js';
import type { TxContext } from './write.js';

/**
 * Runs of schedules. A run stays `open` until a reader finds its job or flow finished (or deleted);
 * then it is closed, so finding a schedule's active runs reads its few open rows, not its history.
 */
export async function activeScheduleRuns(
  ctx: TxContext,
  scheduleIds: readonly string[],
): Promise<ScheduleRun[]> {
  const ids = scheduleIds.map(toRowId).filter((id) => id !== null);
  if (ids.length === 0) return [];
  const rows = await runSchedule<ScheduleRunDbRow & { active: boolean }>(ctx.db, ctx.tx, 'openRuns', [ids]);
  const done = rows.filter((r) => !r.active).map((r) => r.id);
  if (done.length > 0) await runSchedule(ctx.db, ctx.tx, 'closeRuns', [done]);
  return rows.filter((r) => r.active).map(toScheduleRun);
}

export async function listScheduleRuns(
  db: Db,
  on: Queryable,
  filter: ScheduleRunFilter,
): Promise<{ runs: ScheduleRun[]; nextCursor: string | null }> {
  const where: string[] = [];
  const values: unknown[] = [];
  const bind = (v: unknown) => {
    values.push(v);
    return `$${values.length}`;
  };
  if (filter.scheduleId !== undefined) where.push(`r.schedule_id = ${bind(toRowId(filter.scheduleId) ?? 0)}`);
  if (filter.backfillId !== undefined) where.push(`r.backfill_id = ${bind(toRowId(filter.backfillId) ?? 0)}`);
  // Not `r.open`: as on SQLite, whose runs of `allow` schedules are written closed (its migration 0006).
  if (filter.active) where.push(RUN_ACTIVE);
  if (filter.cursor !== undefined) {
    const at = cursorOf(filter.cursor);
    where.push(`(r.created_at, r.id) < (${bind(at.createdAt)}::bigint, ${bind(at.id)}::bigint)`);
  }
  const limit = filter.limit ?? 50;
  const sql = `${scheduleStatements(db).listRunsPrefix} ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY r.created_at DESC, r.id DESC LIMIT ${bind(limit + 1)}`;
  const rows = await db.runText<ScheduleRunDbRow>(on, sql, values);
  const runs = rows.slice(0, limit).map(toScheduleRun);
  const last = runs[runs.length - 1];
  return { runs, nextCursor: rows.length > limit && last ? runCursor(last) : null };
}

function cursorOf(cursor: string): { createdAt: number; id: number } {
  try {
    return parseRunCursor(cursor);
  } catch (err) {
    throw new ValidationError(
      'cursor is not one this store returned',
      [{ path: 'cursor', message: 'invalid cursor' }],
      {
        cause: err,
      },
    );
  }
}
