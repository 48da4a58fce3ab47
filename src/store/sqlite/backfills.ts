import type Database from 'better-sqlite3';
import { backfillNotFound, ConflictError, scheduleNotFound } from '../../core/errors.js';
import type { BackfillPatch, BackfillRecord, BackfillState, NewBackfill } from '../../schedule/types.js';
import { toRowId } from '../rows.js';
import { type BackfillDbRow, countRunStates, toBackfillRecord } from '../schedule-rows.js';
import type { ScheduleStatements } from './schedule-sql.js';
import type { WriteContext } from './write.js';

type RecordEvent = (
  scheduleId: number | string,
  at: number,
  e: { type: 'backfill_started' | 'backfill_finished' | 'backfill_cancelled'; data: Record<string, unknown> },
) => void;

/** Backfills: a schedule's fire times or partitions re-run over a range, at a bounded concurrency. */
export function createSqliteBackfills(
  db: Database.Database,
  ctx: WriteContext,
  stmts: ScheduleStatements,
  event: RecordEvent,
) {
  const listCache = new Map<string, Database.Statement>();

  function read(id: string): BackfillRecord | null {
    const rowId = toRowId(id);
    const row = rowId === null ? undefined : (stmts.getBackfill.get(rowId) as BackfillDbRow | undefined);
    return row ? withRuns(row) : null;
  }

  function withRuns(row: BackfillDbRow): BackfillRecord {
    const counts = stmts.backfillRuns.all(row.id) as { state: string | null; n: number }[];
    return toBackfillRecord(row, countRunStates(counts));
  }

  return {
    insertBackfill(b: NewBackfill): BackfillRecord {
      const scheduleId = toRowId(b.scheduleId);
      if (scheduleId === null || !stmts.scheduleById.get(scheduleId)) throw scheduleNotFound(b.scheduleId);
      const now = ctx.now();
      const { id } = stmts.insertBackfill.get(
        scheduleId,
        b.from,
        b.to,
        b.partitions === null ? null : JSON.stringify(b.partitions),
        b.concurrency,
        b.total,
        now,
      ) as { id: number };
      event(scheduleId, now, {
        type: 'backfill_started',
        data: { id: String(id), from: b.from, to: b.to, total: b.total, concurrency: b.concurrency },
      });
      return read(String(id)) as BackfillRecord;
    },

    getBackfill: read,

    listBackfills(filter: { scheduleId?: string; state?: BackfillState; limit?: number }): BackfillRecord[] {
      const where: string[] = [];
      const params: unknown[] = [];
      if (filter.scheduleId !== undefined) {
        where.push('b.schedule_id = ?');
        params.push(toRowId(filter.scheduleId) ?? -1);
      }
      if (filter.state !== undefined) {
        where.push('b.state = ?');
        params.push(filter.state);
      }
      const sql = `SELECT b.*, s.name AS schedule_name FROM backfills b JOIN schedules s ON s.id = b.schedule_id
        ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY b.id DESC LIMIT ?`;
      let stmt = listCache.get(sql);
      if (!stmt) {
        stmt = db.prepare(sql);
        listCache.set(sql, stmt);
      }
      return (stmt.all(...params, filter.limit ?? 50) as BackfillDbRow[]).map(withRuns);
    },

    updateBackfill(id: string, patch: BackfillPatch): BackfillRecord {
      const current = read(id);
      if (!current) throw backfillNotFound(id);
      if (current.state !== 'running')
        throw new ConflictError(`backfill ${id} is ${current.state}: only a running backfill moves on`);
      const now = ctx.now();
      const state = patch.state ?? 'running';
      const ends = state !== 'running';
      stmts.updateBackfill.run(
        'cursor' in patch ? 1 : 0,
        patch.cursor ?? null,
        patch.created ?? 0,
        patch.skipped ?? 0,
        state,
        ends ? now : null,
        Number(current.id),
      );
      const updated = read(id) as BackfillRecord;
      if (ends)
        event(current.scheduleId, now, {
          type: state === 'finished' ? 'backfill_finished' : 'backfill_cancelled',
          data: { id: updated.id, created: updated.created, skipped: updated.skipped },
        });
      return updated;
    },
  };
}

export type SqliteBackfills = ReturnType<typeof createSqliteBackfills>;
