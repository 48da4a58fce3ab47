import { backfillNotFound, ConflictError, StoreError, scheduleNotFound } from '../../core/errors.js';
import type { BackfillPatch, BackfillRecord, BackfillState, NewBackfill } from '../../schedule/types.js';
import { toRowId } from '../rows.js';
import { type BackfillDbRow, countRunStates, toBackfillRecord } from '../schedule-rows.js';
import type { Db, Queryable } from './db.js';
import { runSchedule, scheduleStatements } from './schedule-sql.js';
import type { TxContext } from './write.js';

/** Backfills: a range of fire times or partitions run at a bounded concurrency, with progress. */

export async function insertBackfill(ctx: TxContext, b: NewBackfill): Promise<BackfillRecord> {
  const { db, tx } = ctx;
  const scheduleId = toRowId(b.scheduleId);
  // Held until commit: the schedule cannot be deleted from under its new backfill.
  const [schedule] = scheduleId === null ? [] : await runSchedule(db, tx, 'shareSchedule', [scheduleId]);
  if (!schedule) throw scheduleNotFound(b.scheduleId);
  const [row] = await runSchedule<{ id: number }>(db, tx, 'insertBackfill', [
    ctx.now,
    scheduleId,
    b.from,
    b.to,
    b.partitions === null ? null : JSON.stringify(b.partitions),
    b.concurrency,
    b.total,
  ]);
  const id = String(row?.id);
  await runSchedule(db, tx, 'insertEvent', [
    ctx.now,
    scheduleId,
    'backfill_started',
    JSON.stringify({ id, from: b.from, to: b.to, total: b.total, concurrency: b.concurrency }),
  ]);
  return mustRead(db, tx, id);
}

export async function updateBackfill(
  ctx: TxContext,
  id: string,
  patch: BackfillPatch,
): Promise<BackfillRecord> {
  const { db, tx } = ctx;
  const rowId = toRowId(id);
  const [held] =
    rowId === null
      ? []
      : await runSchedule<{
          id: number;
          schedule_id: number;
          state: BackfillState;
          created: number;
          skipped: number;
        }>(db, tx, 'lockBackfill', [rowId]);
  if (!held) throw backfillNotFound(id);
  if (held.state !== 'running') throw new ConflictError(`backfill ${id} is ${held.state}, no longer running`);
  const state = patch.state ?? 'running';
  const created = patch.created ?? 0;
  const skipped = patch.skipped ?? 0;
  await runSchedule(db, tx, 'updateBackfill', [
    ctx.now,
    rowId,
    'cursor' in patch,
    patch.cursor ?? null,
    created,
    skipped,
    state,
  ]);
  if (state !== 'running') {
    await runSchedule(db, tx, 'insertEvent', [
      ctx.now,
      held.schedule_id,
      state === 'finished' ? 'backfill_finished' : 'backfill_cancelled',
      JSON.stringify({ id, created: held.created + created, skipped: held.skipped + skipped }),
    ]);
  }
  return mustRead(db, tx, id);
}

export async function getBackfill(db: Db, on: Queryable, id: string): Promise<BackfillRecord | null> {
  const rowId = toRowId(id);
  if (rowId === null) return null;
  const [record] = await readBackfills(db, on, 'WHERE b.id = $1', [rowId]);
  return record ?? null;
}

export async function listBackfills(
  db: Db,
  on: Queryable,
  filter: { scheduleId?: string; state?: BackfillState; limit?: number },
): Promise<BackfillRecord[]> {
  const where: string[] = [];
  const values: unknown[] = [];
  if (filter.scheduleId !== undefined) {
    values.push(toRowId(filter.scheduleId) ?? 0);
    where.push(`b.schedule_id = $${values.length}`);
  }
  if (filter.state !== undefined) {
    values.push(filter.state);
    where.push(`b.state = $${values.length}`);
  }
  values.push(filter.limit ?? 50);
  const clause = `${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY b.id DESC LIMIT $${values.length}`;
  return readBackfills(db, on, clause, values);
}

/** Backfills with their runs counted by state, in two statements whatever their number. */
async function readBackfills(
  db: Db,
  on: Queryable,
  clause: string,
  values: unknown[],
): Promise<BackfillRecord[]> {
  const rows = await db.runText<BackfillDbRow>(
    on,
    `${scheduleStatements(db).listBackfillsPrefix} ${clause}`,
    values,
  );
  if (rows.length === 0) return [];
  const counts = await runSchedule<{ backfill_id: number; state: string | null; n: number }>(
    db,
    on,
    'backfillRunStates',
    [rows.map((r) => r.id)],
  );
  return rows.map((row) =>
    toBackfillRecord(row, countRunStates(counts.filter((c) => String(c.backfill_id) === String(row.id)))),
  );
}

async function mustRead(db: Db, on: Queryable, id: string): Promise<BackfillRecord> {
  const record = await getBackfill(db, on, id);
  if (!record) throw new StoreError(`backfill ${id} vanished while it was being written`);
  return record;
}
