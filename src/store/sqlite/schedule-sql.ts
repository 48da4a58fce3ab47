import type Database from 'better-sqlite3';

/**
 * The run columns every run read selects: the run, its schedule's name, and its job's or flow's
 * state and times (null state: the job or flow is gone). A job's start is its first attempt's
 * (kept in job_events once an attempt went back to pending), else the current one's; a flow
 * starts when it is created.
 */
export const RUN_COLUMNS = `r.id, r.schedule_id, s.name AS schedule_name, r.key, r.kind, r.fire_time, r.partition,
  r.backfill_id, r.job_id, r.flow_id, r.created_at,
  CASE WHEN r.job_id IS NOT NULL THEN j.state ELSE f.state END AS state,
  CASE WHEN r.job_id IS NOT NULL
    THEN coalesce((SELECT min(e.at) FROM job_events e WHERE e.job_id = j.id AND e.type = 'started'), j.started_at)
    ELSE f.created_at END AS started_at,
  CASE WHEN r.job_id IS NOT NULL THEN j.finished_at ELSE f.finished_at END AS finished_at`;

export const RUN_FROM = `schedule_runs r JOIN schedules s ON s.id = r.schedule_id
  LEFT JOIN jobs j ON j.id = r.job_id LEFT JOIN flows f ON f.id = r.flow_id`;

/** A run still going: its job pending or running, or its flow not finished. */
export const RUN_ACTIVE = `(j.state IN ('pending', 'running')
  OR f.state IN ('running', 'reverting'))`;

/**
 * A schedule that never reads its open runs (overlap `allow`, not continuous): its runs are written
 * closed (`open = 0`), so `schedule_runs_open` holds only the runs someone will look at (migration
 * 0006). `activeScheduleRuns` finds such a schedule's active runs through `schedule_runs_list`.
 */
const CLOSED_RUNS = `(trigger_type <> 'continuous' AND policies ->> '$.overlap' = 'allow')`;

/** Statements of the schedule side, each with its parameters. */
export const SCHEDULE_SQL = {
  /** (name, description, target, trigger, trigger_type, policies, state, next_fire_at, wake_at, metadata, now, now) */
  insertSchedule: `INSERT INTO schedules (name, description, target, trigger, trigger_type, policies, state,
      next_fire_at, wake_at, metadata, created_at, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
  scheduleByName: 'SELECT * FROM schedules WHERE name = ?',
  scheduleById: 'SELECT * FROM schedules WHERE id = ?',
  /** (id) -> a row when the schedule exists (the fence of a fire without `advance`): closed = its runs are written closed */
  exists: `SELECT ${CLOSED_RUNS} AS closed FROM schedules WHERE id = ?`,
  /** (schedule_id, dataset) */
  insertDataset: 'INSERT OR IGNORE INTO schedule_datasets (dataset, schedule_id) VALUES (?, ?)',
  deleteDatasets: 'DELETE FROM schedule_datasets WHERE schedule_id = ?',
  /** (schedule_id, at, type, data) */
  insertEvent: 'INSERT INTO schedule_events (schedule_id, at, type, data) VALUES (?, ?, ?, ?)',
  /** (schedule_id, after_id, limit) */
  events: 'SELECT * FROM schedule_events WHERE schedule_id = ? AND id > ? ORDER BY id LIMIT ?',
  deleteSchedule: 'DELETE FROM schedules WHERE id = ?',
  deleteEvents: 'DELETE FROM schedule_events WHERE schedule_id = ?',
  deleteRuns: 'DELETE FROM schedule_runs WHERE schedule_id = ?',
  deleteBackfills: 'DELETE FROM backfills WHERE schedule_id = ?',
  /** (before, limit) -> the columns a fire moves, of due schedules (their definitions are cached) */
  dueClocks: `SELECT id, state, next_fire_at, wake_at, fire_count, last_fire_at, runtime, version, created_at, updated_at
    FROM schedules WHERE state = 'active' AND wake_at IS NOT NULL AND wake_at <= ? ORDER BY wake_at, id LIMIT ?`,
  /** (json ids) -> whole rows, for definitions not cached */
  schedulesByIds: 'SELECT * FROM schedules WHERE id IN (SELECT value FROM json_each(?))',
  nextWake: `SELECT min(wake_at) FROM schedules WHERE state = 'active' AND wake_at IS NOT NULL`,
  /** (json [[schedule_id, key], ...]) -> the runs already holding these keys */
  runsByKey: `SELECT r.schedule_id, r.key, r.job_id, r.flow_id FROM json_each(?) k
    JOIN schedule_runs r ON r.schedule_id = k.value ->> 0 AND r.key = k.value ->> 1`,
  /** (now, json [[schedule_id, key, kind, fire_time, partition, backfill_id, job_id, flow_id, open], ...]) */
  insertRuns: `INSERT INTO schedule_runs (schedule_id, key, kind, fire_time, partition, backfill_id, job_id, flow_id,
      created_at, open)
    SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, value ->> 7, ?,
      value ->> 8
    FROM json_each(?)`,
  /**
   * (next_fire_at, wake_at, fired, last_fire_at, state, runtime or null to keep, now, id, version)
   * -> one row {closed} when the fence holds (the schedule is active at that version), none otherwise
   */
  advance: `UPDATE schedules SET next_fire_at = ?, wake_at = ?, fire_count = fire_count + ?, last_fire_at = ?,
      state = ?, runtime = coalesce(?, runtime), version = version + 1, updated_at = ?
    WHERE id = ? AND version = ? AND state = 'active' RETURNING ${CLOSED_RUNS} AS closed`,
  /**
   * (json ids, json ids) -> open runs of these schedules, and the active runs written closed of
   * those among them that do not read their open runs (see CLOSED_RUNS), oldest first
   */
  openRuns: `SELECT * FROM (
      SELECT ${RUN_COLUMNS} FROM ${RUN_FROM}
        WHERE r.schedule_id IN (SELECT value FROM json_each(?)) AND r.open = 1
      UNION ALL
      SELECT ${RUN_COLUMNS} FROM ${RUN_FROM}
        WHERE r.schedule_id IN (SELECT id FROM schedules WHERE id IN (SELECT value FROM json_each(?)) AND ${CLOSED_RUNS})
          AND r.open = 0 AND ${RUN_ACTIVE})
    ORDER BY created_at, id`,
  /** (schedule_id) -> reopens its active runs written closed (the schedule now reads its open runs) */
  reopenRuns: `UPDATE schedule_runs SET open = 1 WHERE id IN (SELECT r.id FROM schedule_runs r
      LEFT JOIN jobs j ON j.id = r.job_id LEFT JOIN flows f ON f.id = r.flow_id
      WHERE r.schedule_id = ? AND r.open = 0 AND ${RUN_ACTIVE})`,
  /** (json run ids) */
  closeRuns: 'UPDATE schedule_runs SET open = 0 WHERE id IN (SELECT value FROM json_each(?))',
  /** (dataset, partition, metadata, now) */
  insertPartition: `INSERT INTO dataset_partitions (dataset, partition, metadata, marked_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (dataset, partition) DO NOTHING`,
  getPartition: 'SELECT * FROM dataset_partitions WHERE dataset = ? AND partition = ?',
  /**
   * (now, now, dataset) -> wakes the active schedules watching a dataset. The version moves too, so
   * a fire computed before the mark (which might clear the wake) fails its fence.
   */
  wakeWatchers: `UPDATE schedules SET wake_at = CASE WHEN wake_at IS NULL OR wake_at > ? THEN ? ELSE wake_at END,
      version = version + 1
    WHERE state = 'active' AND id IN (SELECT schedule_id FROM schedule_datasets WHERE dataset = ?)`,
  datasets: `SELECT dataset AS name, count(*) AS partitions, max(marked_at) AS last_marked_at
    FROM dataset_partitions GROUP BY dataset ORDER BY dataset`,
  /** {dataset, partition, limit} -> runs of a partition by schedules watching the dataset */
  partitionRuns: `SELECT ${RUN_COLUMNS} FROM ${RUN_FROM}
    WHERE r.partition = @partition AND r.schedule_id IN (SELECT schedule_id FROM schedule_datasets WHERE dataset = @dataset)
    ORDER BY r.created_at DESC, r.id DESC LIMIT @limit`,
  /** {datasets (json), since, count, schedule, limit} */
  readyPartitions: `SELECT p.partition FROM dataset_partitions p
    WHERE p.dataset IN (SELECT value FROM json_each(@datasets))
      AND p.partition IN (SELECT partition FROM dataset_partitions
        WHERE dataset IN (SELECT value FROM json_each(@datasets)) AND marked_at >= @since)
    GROUP BY p.partition
    HAVING count(*) = @count
      AND NOT EXISTS (SELECT 1 FROM schedule_runs WHERE schedule_id = @schedule AND key = 'p:' || p.partition)
    ORDER BY max(p.marked_at), p.partition LIMIT @limit`,
  /** {datasets (json), from, to, count, limit} */
  completePartitions: `SELECT partition FROM dataset_partitions
    WHERE dataset IN (SELECT value FROM json_each(@datasets)) AND partition BETWEEN @from AND @to
    GROUP BY partition HAVING count(*) = @count ORDER BY partition LIMIT @limit`,
  /** (schedule_id, from, to, partitions, concurrency, total, now) */
  insertBackfill: `INSERT INTO backfills (schedule_id, state, from_ms, to_ms, partitions, concurrency, total, created_at)
    VALUES (?, 'running', ?, ?, ?, ?, ?, ?) RETURNING id`,
  getBackfill: `SELECT b.*, s.name AS schedule_name FROM backfills b JOIN schedules s ON s.id = b.schedule_id
    WHERE b.id = ?`,
  /** (backfill_id) -> its runs counted by their state now (null: deleted) */
  backfillRuns: `SELECT CASE WHEN r.job_id IS NOT NULL THEN j.state ELSE f.state END AS state, count(*) AS n
    FROM schedule_runs r LEFT JOIN jobs j ON j.id = r.job_id LEFT JOIN flows f ON f.id = r.flow_id
    WHERE r.backfill_id = ? GROUP BY 1`,
  /** (cursor given 0/1, cursor, created, skipped, state, finished_at, id) */
  updateBackfill: `UPDATE backfills SET cursor = CASE WHEN ? THEN ? ELSE cursor END, created = created + ?,
      skipped = skipped + ?, state = ?, finished_at = ? WHERE id = ?`,
} as const;

export type ScheduleStatements = { [K in keyof typeof SCHEDULE_SQL]: Database.Statement };

/** Prepares every statement (the tables exist once the store has migrated). */
export function scheduleStatements(db: Database.Database): ScheduleStatements {
  return Object.fromEntries(
    Object.entries(SCHEDULE_SQL).map(([key, sql]) => [key, db.prepare(sql)]),
  ) as ScheduleStatements;
}
