import type Database from 'better-sqlite3';
import { ConflictError, scheduleNotFound } from '../../core/errors.js';
import { createDefinitionCache } from '../../schedule/definitions.js';
import type {
  FireResult,
  NewSchedule,
  NewScheduleRun,
  ScheduleEvent,
  ScheduleEventType,
  ScheduleFilter,
  ScheduleFire,
  SchedulePatch,
  ScheduleRecord,
  ScheduleRun,
  ScheduleRunFilter,
} from '../../schedule/types.js';
import { toRowId } from '../rows.js';
import {
  type ClockRow,
  cachedDue,
  completeDue,
  parseRunCursor,
  runCursor,
  type ScheduleDbRow,
  type ScheduleEventDbRow,
  type ScheduleRunDbRow,
  schedulePatchColumns,
  toScheduleEvent,
  toScheduleRecord,
  toScheduleRun,
  watchedDatasets,
} from '../schedule-rows.js';
import type { NewJob } from '../types.js';
import type { SqliteFlows } from './flows.js';
import {
  RUN_ACTIVE,
  RUN_COLUMNS,
  RUN_FROM,
  type ScheduleStatements,
  scheduleStatements,
} from './schedule-sql.js';
import { insertJobs, type WriteContext } from './write.js';

const json = (value: unknown): string | null =>
  value === null || value === undefined ? null : JSON.stringify(value);

interface TakenRow {
  schedule_id: number;
  key: string;
  job_id: number | null;
  flow_id: number | null;
}

type EventInput = { type: ScheduleEventType; data: Record<string, unknown> | null };

/**
 * The schedule side of the SQLite store: schedules, their events, and firing them into runs. Every
 * function runs inside the caller's transaction (see store.ts); fired jobs and flows go through the
 * same insert code as `insertJobs` and `insertFlow`.
 */
export function createSqliteSchedules(db: Database.Database, ctx: WriteContext, flows: SqliteFlows) {
  const stmts = scheduleStatements(db);
  /** Parsed definitions of due schedules, between the coordinator's reads (see definitions.ts). */
  const definitions = createDefinitionCache();
  const updateCache = new Map<string, Database.Statement>();
  const listCache = new Map<string, Database.Statement>();
  const cached = (sql: string): Database.Statement => {
    let s = listCache.get(sql);
    if (!s) {
      s = db.prepare(sql);
      listCache.set(sql, s);
    }
    return s;
  };

  const byName = (name: string) => stmts.scheduleByName.get(name) as ScheduleDbRow | undefined;
  const byId = (id: string): ScheduleDbRow | undefined => {
    const rowId = toRowId(id);
    return rowId === null ? undefined : (stmts.scheduleById.get(rowId) as ScheduleDbRow | undefined);
  };
  const event = (scheduleId: number | string, at: number, e: EventInput) =>
    stmts.insertEvent.run(Number(scheduleId), at, e.type, json(e.data));
  const watch = (scheduleId: number | string, trigger: NewSchedule['trigger']) => {
    for (const d of watchedDatasets(trigger)) stmts.insertDataset.run(d, Number(scheduleId));
  };

  function insertSchedule(s: NewSchedule): ScheduleRecord {
    if (byName(s.name))
      throw new ConflictError(
        `schedule ${s.name} already exists: change it with an update, or delete it first`,
      );
    const now = ctx.now();
    const row = stmts.insertSchedule.get(
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
      now,
      now,
    ) as ScheduleDbRow;
    watch(row.id, s.trigger);
    event(row.id, now, { type: 'created', data: null });
    return toScheduleRecord(row);
  }

  function updateSchedule(
    name: string,
    patch: SchedulePatch,
    e: EventInput,
    options?: { expectedVersion?: number },
  ): ScheduleRecord {
    const current = byName(name);
    if (!current) throw scheduleNotFound(name);
    const expected = options?.expectedVersion;
    if (expected !== undefined && current.version !== expected)
      throw new ConflictError(
        `schedule ${name} changed meanwhile (version ${current.version}, expected ${expected}); read it again`,
      );
    const columns = schedulePatchColumns(patch);
    const key = columns.map(([c]) => c).join(',');
    let stmt = updateCache.get(key);
    if (!stmt) {
      const sets = columns.map(([c]) => `${c} = ?, `).join('');
      stmt = db.prepare(
        `UPDATE schedules SET ${sets}version = version + 1, updated_at = ? WHERE id = ? RETURNING *`,
      );
      updateCache.set(key, stmt);
    }
    const now = ctx.now();
    definitions.forget(String(current.id));
    const row = stmt.get(...columns.map(([, v]) => v), now, current.id) as ScheduleDbRow;
    if (patch.trigger) {
      stmts.deleteDatasets.run(current.id);
      watch(current.id, patch.trigger);
    }
    // Runs written closed while the schedule did not read its open runs: it does now.
    if ((patch.trigger || patch.policies) && !writesClosedRuns(row)) stmts.reopenRuns.run(current.id);
    event(current.id, now, e);
    return toScheduleRecord(row);
  }

  function deleteSchedule(name: string): boolean {
    const row = byName(name);
    if (!row) return false;
    definitions.forget(String(row.id));
    for (const s of [
      stmts.deleteSchedule,
      stmts.deleteEvents,
      stmts.deleteRuns,
      stmts.deleteBackfills,
      stmts.deleteDatasets,
    ])
      s.run(row.id);
    return true;
  }

  function listSchedules(filter: ScheduleFilter): { schedules: ScheduleRecord[]; nextCursor: string | null } {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.state !== undefined) {
      where.push('state = ?');
      params.push(filter.state);
    }
    if (filter.triggerType !== undefined) {
      where.push('trigger_type = ?');
      params.push(filter.triggerType);
    }
    if (filter.cursor !== undefined) {
      where.push('name > ?');
      params.push(filter.cursor);
    }
    const sql = `SELECT * FROM schedules ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY name LIMIT ?`;
    const limit = filter.limit ?? 100;
    const rows = cached(sql).all(...params, limit + 1) as ScheduleDbRow[];
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      schedules: page.map(toScheduleRecord),
      nextCursor: rows.length > limit && last ? last.name : null,
    };
  }

  function getScheduleEvents(name: string, options?: { afterId?: number; limit?: number }): ScheduleEvent[] {
    const row = byName(name);
    if (!row) throw scheduleNotFound(name);
    return (
      stmts.events.all(row.id, options?.afterId ?? 0, options?.limit ?? 1000) as ScheduleEventDbRow[]
    ).map(toScheduleEvent);
  }

  /**
   * Due schedules, in wake order. Only the columns a fire moves are read; each definition comes
   * from the cache when it is still valid for the row's version, else from the whole row (read
   * again, and used as it is now: a fire plans from the version it read, whichever).
   */
  function dueSchedules(request: { before: number; limit: number }): ScheduleRecord[] {
    const due = cachedDue(stmts.dueClocks.all(request.before, request.limit) as ClockRow[], definitions);
    const ids = [...due.missing.keys()].map(Number);
    const rows =
      ids.length === 0 ? [] : (stmts.schedulesByIds.all(JSON.stringify(ids)) as (ScheduleDbRow & ClockRow)[]);
    return completeDue(due, rows, definitions);
  }

  /** After a fire committed: the definitions of the schedules it advanced hold at their new version. */
  function fired(fires: readonly ScheduleFire[], results: readonly FireResult[]): void {
    fires.forEach((fire, i) => {
      if (fire.advance && results[i]?.applied) definitions.advanced(fire.scheduleId, fire.advance.version);
    });
  }

  function nextScheduleWake(): number | null {
    const at = stmts.nextWake.pluck().get() as number | null;
    return at ?? null;
  }

  function fireSchedules(fires: readonly ScheduleFire[]): FireResult[] {
    const now = ctx.now();
    type RunOut = FireResult['runs'][number];
    // The keys of the batch already taken, in one lookup.
    const keys: [number, string][] = [];
    for (const fire of fires) {
      const id = toRowId(fire.scheduleId);
      if (id !== null) for (const run of fire.runs) keys.push([id, run.key]);
    }
    /** Taken keys (before or earlier in this batch) and their run's result. */
    const taken = new Map<string, RunOut>();
    const keyOf = (id: number, key: string) => `${id}\u0000${key}`;
    if (keys.length > 0)
      for (const r of stmts.runsByKey.all(JSON.stringify(keys)) as TakenRow[])
        taken.set(keyOf(r.schedule_id, r.key), {
          key: r.key,
          created: false,
          jobId: r.job_id === null ? null : String(r.job_id),
          flowId: r.flow_id === null ? null : String(r.flow_id),
        });

    const results: FireResult[] = [];
    /** Runs to insert once their jobs exist, in request order. */
    const newRuns: { scheduleId: number; run: NewScheduleRun; out: RunOut; open: 0 | 1 }[] = [];
    const jobs: NewJob[] = [];
    const jobOuts: RunOut[] = [];
    /** Results that repeat a key taken earlier in this batch: they share its ids once known. */
    const repeats: [RunOut, RunOut][] = [];
    for (const fire of fires) {
      const id = toRowId(fire.scheduleId);
      const a = fire.advance;
      // The fence: with `advance`, the update applies only to the active schedule at that version.
      const fenced =
        id === null
          ? undefined
          : ((a
              ? stmts.advance.get(
                  a.nextFireAt,
                  a.wakeAt,
                  a.fired,
                  a.lastFireAt,
                  a.state,
                  a.runtime === undefined ? null : JSON.stringify(a.runtime),
                  now,
                  id,
                  a.version,
                )
              : stmts.exists.get(id)) as { closed: 0 | 1 } | undefined);
      if (!fenced || id === null) {
        results.push({ scheduleId: fire.scheduleId, applied: false, runs: [] });
        continue;
      }
      const runs: RunOut[] = [];
      for (const run of fire.runs) {
        const k = keyOf(id, run.key);
        const earlier = taken.get(k);
        if (earlier) {
          const out = { key: run.key, created: false, jobId: earlier.jobId, flowId: earlier.flowId };
          if (earlier.created) repeats.push([out, earlier]);
          runs.push(out);
          continue;
        }
        const out: RunOut = { key: run.key, created: true, jobId: null, flowId: null };
        if (run.target.kind === 'job') {
          jobs.push(run.target.job);
          jobOuts.push(out);
        } else {
          out.flowId = flows.insertFlow(run.target.flow).id;
        }
        taken.set(k, out);
        newRuns.push({ scheduleId: id, run, out, open: fenced.closed === 1 ? 0 : 1 });
        runs.push(out);
      }
      for (const e of fire.events ?? []) event(id, now, e);
      results.push({ scheduleId: fire.scheduleId, applied: true, runs });
    }

    // All the batch's jobs in one call, as insertJobs inserts them (a template's runs in one statement).
    if (jobs.length > 0)
      insertJobs(ctx, jobs, { admission: false }).forEach((j, i) => {
        (jobOuts[i] as RunOut).jobId = j.id;
      });
    for (const [out, earlier] of repeats) {
      out.jobId = earlier.jobId;
      out.flowId = earlier.flowId;
    }
    if (newRuns.length > 0)
      stmts.insertRuns.run(
        now,
        JSON.stringify(
          newRuns.map(({ scheduleId, run, out, open }) => [
            scheduleId,
            run.key,
            run.kind,
            run.fireTime,
            run.partition,
            run.backfillId === null ? null : toRowId(run.backfillId),
            out.jobId === null ? null : Number(out.jobId),
            out.flowId === null ? null : Number(out.flowId),
            open,
          ]),
        ),
      );
    return results;
  }

  /**
   * Active runs of these schedules: their open runs, of which those whose job or flow ended (or is
   * gone) are closed on the way, and the active runs of schedules whose runs are written closed.
   */
  function activeScheduleRuns(scheduleIds: readonly string[]): ScheduleRun[] {
    const ids = scheduleIds.map(toRowId).filter((id) => id !== null);
    if (ids.length === 0) return [];
    const text = JSON.stringify(ids);
    const rows = stmts.openRuns.all(text, text) as ScheduleRunDbRow[];
    const active: ScheduleRun[] = [];
    const closed: number[] = [];
    for (const row of rows) {
      const run = toScheduleRun(row);
      if (isActive(run)) active.push(run);
      else closed.push(Number(row.id));
    }
    if (closed.length > 0) stmts.closeRuns.run(JSON.stringify(closed));
    return active;
  }

  function listScheduleRuns(filter: ScheduleRunFilter): { runs: ScheduleRun[]; nextCursor: string | null } {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.scheduleId !== undefined) {
      where.push('r.schedule_id = ?');
      params.push(toRowId(filter.scheduleId) ?? -1);
    }
    if (filter.backfillId !== undefined) {
      where.push('r.backfill_id = ?');
      params.push(toRowId(filter.backfillId) ?? -1);
    }
    if (filter.active) where.push(RUN_ACTIVE);
    if (filter.cursor !== undefined) {
      const c = parseRunCursor(filter.cursor);
      where.push('(r.created_at, r.id) < (?, ?)');
      params.push(c.createdAt, c.id);
    }
    const sql = `SELECT ${RUN_COLUMNS} FROM ${RUN_FROM} ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY r.created_at DESC, r.id DESC LIMIT ?`;
    const limit = filter.limit ?? 50;
    const rows = cached(sql).all(...params, limit + 1) as ScheduleRunDbRow[];
    const runs = rows.slice(0, limit).map(toScheduleRun);
    const last = runs[runs.length - 1];
    return { runs, nextCursor: rows.length > limit && last ? runCursor(last) : null };
  }

  return {
    stmts,
    byId,
    event,
    insertSchedule,
    updateSchedule,
    deleteSchedule,
    getSchedule: (name: string) => {
      const row = byName(name);
      return row ? toScheduleRecord(row) : null;
    },
    getScheduleById: (id: string) => {
      const row = byId(id);
      return row ? toScheduleRecord(row) : null;
    },
    listSchedules,
    getScheduleEvents,
    dueSchedules,
    nextScheduleWake,
    fireSchedules,
    fired,
    activeScheduleRuns,
    listScheduleRuns,
  };
}

export type SqliteSchedules = ReturnType<typeof createSqliteSchedules>;
export type { ScheduleStatements };

/** Whether a schedule's runs are written closed: it never reads its open runs (CLOSED_RUNS in SQL). */
function writesClosedRuns(row: ScheduleDbRow): boolean {
  return (
    row.trigger_type !== 'continuous' &&
    (JSON.parse(row.policies) as { overlap?: string }).overlap === 'allow'
  );
}

/** A job pending or running, or a flow running or reverting (not in FINISHED_FLOW_STATES). */
function isActive(run: ScheduleRun): boolean {
  return run.state === 'pending' || run.state === 'running' || run.state === 'reverting';
}
