import type Database from 'better-sqlite3';
import type { ScheduleMethods } from '../types.js';
import { createSqliteBackfills } from './backfills.js';
import { createSqliteDatasets } from './datasets.js';
import type { SqliteFlows } from './flows.js';
import { createSqliteSchedules } from './schedules.js';
import type { WriteContext } from './write.js';

type Wrap = <A extends unknown[], R>(fn: (...args: A) => R) => (...args: A) => Promise<R>;

/**
 * The store's schedule methods: each write is one immediate transaction (`write`), each read one
 * synchronous read (`read`), as for jobs and flows.
 */
export function createScheduleMethods(
  db: Database.Database,
  ctx: WriteContext,
  flows: SqliteFlows,
  write: Wrap,
  read: Wrap,
): ScheduleMethods {
  const s = createSqliteSchedules(db, ctx, flows);
  const fire = write(s.fireSchedules);
  const d = createSqliteDatasets(db, ctx, s.stmts);
  const b = createSqliteBackfills(db, ctx, s.stmts, s.event);
  return {
    insertSchedule: write(s.insertSchedule),
    updateSchedule: write(s.updateSchedule),
    deleteSchedule: write(s.deleteSchedule),
    getSchedule: read(s.getSchedule),
    getScheduleById: read(s.getScheduleById),
    listSchedules: read(s.listSchedules),
    getScheduleEvents: read(s.getScheduleEvents),
    dueSchedules: read(s.dueSchedules),
    nextScheduleWake: read(s.nextScheduleWake),
    fireSchedules: async (fires) => {
      const results = await fire(fires);
      s.fired(fires, results); // committed: the cached definitions follow the versions
      return results;
    },
    listScheduleRuns: read(s.listScheduleRuns),
    // A write: it closes runs it finds ended, so the next look reads only the open ones.
    activeScheduleRuns: write(s.activeScheduleRuns),
    markPartition: write(d.markPartition),
    listDatasets: read(d.listDatasets),
    listPartitions: read(d.listPartitions),
    readyPartitions: read(d.readyPartitions),
    completePartitions: read(d.completePartitions),
    insertBackfill: write(b.insertBackfill),
    getBackfill: read(b.getBackfill),
    listBackfills: read(b.listBackfills),
    updateBackfill: write(b.updateBackfill),
  };
}
