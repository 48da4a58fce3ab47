import { ConflictError, scheduleNotFound } from '../../core/errors.js';
import { createDefinitionCache, type DefinitionCache } from '../../schedule/definitions.js';
import type {
  NewSchedule,
  ScheduleEvent,
  ScheduleEventType,
  ScheduleFilter,
  SchedulePatch,
  ScheduleRecord,
} from '../../schedule/types.js';
import { toRowId } from '../rows.js';
import {
  type ClockRow,
  cachedDue,
  completeDue,
  type ScheduleDbRow,
  type ScheduleEventDbRow,
  schedulePatchColumns,
  toScheduleEvent,
  toScheduleRecord,
  watchedDatasets,
} from '../schedule-rows.js';
import type { ScheduleMethods } from '../types.js';
import type { Db, Queryable } from './db.js';
import { getBackfill, insertBackfill, listBackfills, updateBackfill } from './schedule-backfills.js';
import {
  completePartitions,
  listDatasets,
  listPartitions,
  markPartition,
  readyPartitions,
} from './schedule-datasets.js';
import { fireSchedules } from './schedule-fire.js';
import { activeScheduleRuns, listScheduleRuns } from './schedule-runs.js';
import { runSchedule, SCHEDULE_COLUMNS, scheduleStatements } from './schedule-sql.js';
import { NOW, quoteIdent } from './sql.js';
import type { TxContext } from './write.js';

/** The store's ways to run work: one transaction (retried on deadlock), or reads on the pool. */
export interface PgRunners {
  db: Db;
  transaction: <R>(fn: (ctx: TxContext) => Promise<R>) => Promise<R>;
  read: <R>(fn: (on: Queryable) => Promise<R>) => Promise<R>;
}

/** The schedule side of the PostgreSQL store: every method one transaction (or one read). */
export function pgScheduleMethods({ db, transaction, read }: PgRunners): ScheduleMethods {
  /** Parsed definitions of due schedules, between the coordinator's reads (see definitions.ts). */
  const definitions = createDefinitionCache();
  return {
    insertSchedule: (schedule) => transaction((ctx) => insertSchedule(ctx, schedule)),
    updateSchedule: async (name, patch, event, options) => {
      const record = await transaction((ctx) =>
        updateSchedule(ctx, name, patch, event, options?.expectedVersion),
      );
      definitions.forget(record.id);
      return record;
    },
    deleteSchedule: (name) => transaction((ctx) => deleteSchedule(ctx, name)),
    getSchedule: (name) => read((on) => getSchedule(db, on, 'scheduleByName', name)),
    getScheduleById: (id) => {
      const rowId = toRowId(id);
      return rowId === null
        ? Promise.resolve(null)
        : read((on) => getSchedule(db, on, 'scheduleById', rowId));
    },
    listSchedules: (filter) => read((on) => listSchedules(db, on, filter)),
    getScheduleEvents: (name, options) => read((on) => getScheduleEvents(db, on, name, options)),
    dueSchedules: ({ before, limit }) => read((on) => dueSchedules(db, on, definitions, before, limit)),
    nextScheduleWake: () =>
      read(async (on) => {
        const [row] = await runSchedule<{ at: number | null }>(db, on, 'nextWake', []);
        return row?.at ?? null;
      }),
    fireSchedules: async (fires) => {
      if (fires.length === 0) return [];
      const results = await transaction((ctx) => fireSchedules(ctx, fires));
      // Committed: the cached definitions follow the versions the fires left.
      fires.forEach((fire, i) => {
        if (fire.advance && results[i]?.applied) definitions.advanced(fire.scheduleId, fire.advance.version);
      });
      return results;
    },
    listScheduleRuns: (filter) => read((on) => listScheduleRuns(db, on, filter)),
    activeScheduleRuns: (ids) =>
      ids.length === 0 ? Promise.resolve([]) : transaction((ctx) => activeScheduleRuns(ctx, ids)),
    markPartition: (dataset, partition, metadata) =>
      transaction((ctx) => markPartition(ctx, dataset, partition, metadata)),
    listDatasets: () => read((on) => listDatasets(db, on)),
    listPartitions: (dataset, options) => read((on) => listPartitions(db, on, dataset, options)),
    readyPartitions: (request) => read((on) => readyPartitions(db, on, request)),
    completePartitions: (request) => read((on) => completePartitions(db, on, request)),
    insertBackfill: (backfill) => transaction((ctx) => insertBackfill(ctx, backfill)),
    getBackfill: (id) => read((on) => getBackfill(db, on, id)),
    listBackfills: (filter) => read((on) => listBackfills(db, on, filter)),
    updateBackfill: (id, patch) => transaction((ctx) => updateBackfill(ctx, id, patch)),
  };
}

const json = (value: unknown): string | null =>
  value === null || value === undefined ? null : JSON.stringify(value);

async function insertSchedule(ctx: TxContext, s: NewSchedule): Promise<ScheduleRecord> {
  const [row] = await runSchedule<ScheduleDbRow>(ctx.db, ctx.tx, 'insertSchedule', [
    ctx.now,
    s.name,
    s.description,
    JSON.stringify(s.target),
    JSON.stringify(s.trigger),
    s.trigger.type,
    JSON.stringify(s.policies),
    s.state,
    s.nextFireAt,
    s.wakeAt,
    json(s.metadata),
    watchedDatasets(s.trigger),
    null,
  ]);
  if (!row) {
    throw new ConflictError(
      `a schedule named ${s.name} already exists: update it, or delete it first to replace it`,
    );
  }
  return toScheduleRecord(row);
}

async function updateSchedule(
  ctx: TxContext,
  name: string,
  patch: SchedulePatch,
  event: { type: ScheduleEventType; data: Record<string, unknown> | null },
  expectedVersion: number | undefined,
): Promise<ScheduleRecord> {
  const { db, tx } = ctx;
  const [held] = await runSchedule<{ id: number; version: number }>(db, tx, 'lockScheduleByName', [name]);
  if (!held) throw scheduleNotFound(name);
  if (expectedVersion !== undefined && held.version !== expectedVersion) {
    throw new ConflictError(
      `schedule ${name} changed meanwhile (version ${held.version}, expected ${expectedVersion}): read it again and retry`,
    );
  }
  const cols = schedulePatchColumns(patch);
  const set = cols.map(([column], i) => `${column} = $${i + 3}`);
  const sql = `UPDATE ${quoteIdent(db.schema)}.schedules
    SET ${[...set, 'version = version + 1', `updated_at = ${NOW}`].join(', ')}
    WHERE id = $2 RETURNING ${SCHEDULE_COLUMNS}`;
  const [row] = await db.runShaped<ScheduleDbRow>(tx, sql, [ctx.now, held.id, ...cols.map((c) => c[1])]);
  if (!row) throw scheduleNotFound(name);
  if (patch.trigger) await runSchedule(db, tx, 'setWatched', [held.id, watchedDatasets(patch.trigger)]);
  await runSchedule(db, tx, 'insertEvent', [ctx.now, held.id, event.type, json(event.data)]);
  return toScheduleRecord(row);
}

async function deleteSchedule(ctx: TxContext, name: string): Promise<boolean> {
  // Two statements: the second starts after the first waited for any fire holding the schedule, so
  // it sees (and deletes) that fire's runs too.
  const [row] = await runSchedule<{ id: number }>(ctx.db, ctx.tx, 'deleteSchedule', [name]);
  if (!row) return false;
  await runSchedule(ctx.db, ctx.tx, 'deleteScheduleRest', [row.id]);
  return true;
}

/**
 * Due schedules, in wake order. Only the columns a fire moves are read; each definition comes
 * from the cache when it is still valid for the row's version, else from the whole row (read
 * again, and used as it is then: a fire plans from the version it read, whichever).
 */
async function dueSchedules(
  db: Db,
  on: Queryable,
  definitions: DefinitionCache,
  before: number,
  limit: number,
): Promise<ScheduleRecord[]> {
  const due = cachedDue(await runSchedule<ClockRow>(db, on, 'dueClocks', [before, limit]), definitions);
  const ids = [...due.missing.keys()].map(Number);
  const rows =
    ids.length === 0 ? [] : await runSchedule<ScheduleDbRow & ClockRow>(db, on, 'schedulesByIds', [ids]);
  return completeDue(due, rows, definitions);
}

async function getSchedule(
  db: Db,
  on: Queryable,
  key: 'scheduleByName' | 'scheduleById',
  value: string | number,
): Promise<ScheduleRecord | null> {
  const [row] = await runSchedule<ScheduleDbRow>(db, on, key, [value]);
  return row ? toScheduleRecord(row) : null;
}

async function listSchedules(
  db: Db,
  on: Queryable,
  filter: ScheduleFilter,
): Promise<{ schedules: ScheduleRecord[]; nextCursor: string | null }> {
  const where: string[] = [];
  const values: unknown[] = [];
  const bind = (v: unknown) => {
    values.push(v);
    return `$${values.length}`;
  };
  if (filter.state !== undefined) where.push(`state = ${bind(filter.state)}`);
  if (filter.triggerType !== undefined) where.push(`trigger_type = ${bind(filter.triggerType)}`);
  if (filter.cursor !== undefined) where.push(`name > ${bind(filter.cursor)}`);
  const limit = filter.limit ?? 100;
  const { listSchedulesPrefix } = scheduleStatements(db);
  const sql = `${listSchedulesPrefix} ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY name LIMIT ${bind(limit + 1)}`;
  const rows = await db.runText<ScheduleDbRow>(on, sql, values);
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    schedules: page.map(toScheduleRecord),
    nextCursor: rows.length > limit && last ? last.name : null,
  };
}

async function getScheduleEvents(
  db: Db,
  on: Queryable,
  name: string,
  options: { afterId?: number; limit?: number } | undefined,
): Promise<ScheduleEvent[]> {
  const [schedule] = await runSchedule<{ id: number }>(db, on, 'scheduleByName', [name]);
  if (!schedule) throw scheduleNotFound(name);
  const rows = await runSchedule<ScheduleEventDbRow>(db, on, 'scheduleEvents', [
    schedule.id,
    options?.afterId ?? 0,
    options?.limit ?? 100,
  ]);
  return rows.map(toScheduleEvent);
}
