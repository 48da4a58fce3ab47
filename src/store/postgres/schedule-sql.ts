import type { Db, Queryable } from './db.js';
import { NOW, quoteIdent } from './sql.js';

/**
 * The statements of schedules, runs, datasets and backfills, for one schema (conventions as in
 * sql.ts: `$1` is `now` wherever a statement reads the time). Rows are cast to match SQLite's
 * (../schedule-rows.ts): JSON as text, times as ms.
 */
export const SCHEDULE_COLUMNS = `id, name, description, target::text AS target, trigger::text AS trigger, trigger_type,
  policies::text AS policies, state, next_fire_at, wake_at, fire_count, last_fire_at, runtime::text AS runtime,
  metadata::text AS metadata, version, created_at, updated_at`;

/**
 * A run with its schedule's name and its job's or flow's state and times, for runs `r`, schedules
 * `s`, jobs `j` and flows `f` (left-joined).
 */
export const RUN_COLUMNS = `r.id, r.schedule_id, s.name AS schedule_name, r.key, r.kind, r.fire_time, r.partition,
  r.backfill_id, r.job_id, r.flow_id, r.created_at,
  CASE WHEN r.job_id IS NOT NULL THEN j.state ELSE f.state END AS state,
  CASE WHEN r.job_id IS NOT NULL THEN j.started_at ELSE f.created_at END AS started_at,
  CASE WHEN r.job_id IS NOT NULL THEN j.finished_at ELSE f.finished_at END AS finished_at`;

/** The joins RUN_COLUMNS reads, after `FROM schedule_runs r`. */
export const runJoins = (s: string) => `JOIN ${s}.schedules s ON s.id = r.schedule_id
  LEFT JOIN ${s}.jobs j ON j.id = r.job_id LEFT JOIN ${s}.flows f ON f.id = r.flow_id`;

/** Whether the run (as joined by runJoins) is still going: its job pending or running, its flow not finished. */
export const RUN_ACTIVE = `CASE WHEN r.job_id IS NOT NULL THEN coalesce(j.state IN ('pending', 'running'), false)
  WHEN r.flow_id IS NOT NULL THEN coalesce(f.state IN ('running', 'reverting'), false) ELSE false END`;

const BACKFILL_COLUMNS = `b.id, b.schedule_id, s.name AS schedule_name, b.state, b.from_ms, b.to_ms,
  b.partitions::text AS partitions, b.concurrency, b.total, b.cursor, b.created, b.skipped, b.created_at, b.finished_at`;

export function pgScheduleStatements(schema: string) {
  const s = quoteIdent(schema);
  return {
    /**
     * ($1 now, name, description, target, trigger, trigger_type, policies, state, next_fire_at, wake_at,
     * metadata, datasets[], created event data) -> the schedule, or nothing when the name is taken
     */
    insertSchedule: `WITH ins AS (
        INSERT INTO ${s}.schedules (name, description, target, trigger, trigger_type, policies, state, next_fire_at,
          wake_at, metadata, created_at, updated_at)
        VALUES ($2, $3, $4::json, $5::json, $6, $7::json, $8, $9, $10, $11::jsonb, ${NOW}, ${NOW})
        ON CONFLICT (name) DO NOTHING RETURNING *),
      watched AS (
        INSERT INTO ${s}.schedule_datasets (schedule_id, dataset)
        SELECT ins.id, d.name FROM ins, unnest($12::text[]) AS d(name) ON CONFLICT DO NOTHING),
      created AS (
        INSERT INTO ${s}.schedule_events (schedule_id, at, type, data) SELECT id, created_at, 'created', $13::json FROM ins)
      SELECT ${SCHEDULE_COLUMNS} FROM ins`,
    /** (name) */
    scheduleByName: `SELECT ${SCHEDULE_COLUMNS} FROM ${s}.schedules WHERE name = $1`,
    /** (id) */
    scheduleById: `SELECT ${SCHEDULE_COLUMNS} FROM ${s}.schedules WHERE id = $1`,
    /** (name) -> id and version, locked until commit */
    lockScheduleByName: `SELECT id, version FROM ${s}.schedules WHERE name = $1 FOR UPDATE`,
    /** (schedule_id, datasets[]): the datasets a schedule watches, replaced */
    setWatched: `WITH gone AS (DELETE FROM ${s}.schedule_datasets WHERE schedule_id = $1)
      INSERT INTO ${s}.schedule_datasets (schedule_id, dataset)
      SELECT $1, d.name FROM unnest($2::text[]) AS d(name) ON CONFLICT DO NOTHING`,
    /** ($1 now, schedule_id, type, data) */
    insertEvent: `INSERT INTO ${s}.schedule_events (schedule_id, at, type, data) VALUES ($2, ${NOW}, $3, $4::json)`,
    /** ($1 now, schedule_ids[], types[], data json[]): in the given order */
    insertEvents: `INSERT INTO ${s}.schedule_events (schedule_id, at, type, data)
      SELECT e.schedule_id, ${NOW}, e.type, e.data
      FROM unnest($2::bigint[], $3::text[], $4::json[]) WITH ORDINALITY AS e(schedule_id, type, data, n) ORDER BY e.n`,
    /** (name) -> the id of the schedule deleted (waits for fires of it to commit) */
    deleteSchedule: `DELETE FROM ${s}.schedules WHERE name = $1 RETURNING id`,
    /** (id): what belonged to a deleted schedule (a statement of its own, so it sees runs committed meanwhile) */
    deleteScheduleRest: `WITH e AS (DELETE FROM ${s}.schedule_events WHERE schedule_id = $1),
        r AS (DELETE FROM ${s}.schedule_runs WHERE schedule_id = $1),
        b AS (DELETE FROM ${s}.backfills WHERE schedule_id = $1)
      DELETE FROM ${s}.schedule_datasets WHERE schedule_id = $1`,
    /** list: a prefix; the store appends WHERE / ORDER BY / LIMIT */
    listSchedulesPrefix: `SELECT ${SCHEDULE_COLUMNS} FROM ${s}.schedules`,
    /** (schedule_id, after_id, limit) */
    scheduleEvents: `SELECT id, schedule_id, at, type, data::text AS data FROM ${s}.schedule_events
      WHERE schedule_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
    /** (before, limit) -> the columns a fire moves, of due schedules (their definitions are cached) */
    dueClocks: `SELECT id, state, next_fire_at, wake_at, fire_count, last_fire_at, runtime::text AS runtime, version,
        created_at, updated_at
      FROM ${s}.schedules WHERE state = 'active' AND wake_at IS NOT NULL AND wake_at <= $1 ORDER BY wake_at, id LIMIT $2`,
    /** (ids[]) -> whole rows, for definitions not cached */
    schedulesByIds: `SELECT ${SCHEDULE_COLUMNS} FROM ${s}.schedules WHERE id = ANY($1::bigint[])`,
    /** () -> the earliest wake of an active schedule */
    nextWake: `SELECT min(wake_at) AS at FROM ${s}.schedules WHERE state = 'active' AND wake_at IS NOT NULL`,

    /** (ids[]) -> the schedules of a batch of fires, locked in id order (so batches never deadlock) */
    lockSchedules: `SELECT id, version, state FROM ${s}.schedules WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE`,
    /**
     * ($1 now, templates, runs) -> the runs inserted (a key already taken inserts nothing), with their
     * job ids. `templates` is a JSON array of the batch's distinct job templates: {task, queue, priority,
     * run_at, delay_ms, max_attempts, backoff_ms, factor, max_ms, jitter, timeout_ms, metadata, placement,
     * concurrency_key, concurrency_limit, sandbox}; `runs` a JSON array of {s: schedule_id, k: key, d: kind,
     * f: fire_time, p: partition, b: backfill_id, t: template index (from 0; null for a flow run), i: input}.
     * Each job run's job is inserted with its run, as insertJob would (same columns, same defaults); its
     * id is drawn from the jobs' sequence first so the run can name it. The jobs' insert trigger
     * NOTIFYs workers once for the whole batch. The runs of a batch mostly share one template, which
     * is sent once: a run costs the client one small object to encode, the server one to parse.
     */
    insertRuns: `WITH seq AS MATERIALIZED (SELECT pg_get_serial_sequence('${s}.jobs', 'id')::regclass AS jobs),
      tpl AS MATERIALIZED (
        SELECT t.*, t.ordinality - 1 AS idx FROM ROWS FROM (json_to_recordset($2::json) AS (task text, queue text,
            priority int, run_at bigint, delay_ms bigint, max_attempts int, backoff_ms bigint, factor float8,
            max_ms bigint, jitter float8, timeout_ms bigint, metadata jsonb, placement jsonb, concurrency_key text,
            concurrency_limit int, sandbox jsonb)) WITH ORDINALITY AS t),
      input AS MATERIALIZED (
        SELECT r.*, CASE WHEN r.t IS NOT NULL THEN nextval(seq.jobs) END AS job_id
        FROM seq, ROWS FROM (json_to_recordset($3::json) AS (s bigint, k text, d text, f bigint, p text, b bigint,
            t int, i json)) WITH ORDINALITY AS r),
      runs AS (
        INSERT INTO ${s}.schedule_runs (schedule_id, key, kind, fire_time, partition, backfill_id, job_id, created_at)
        SELECT i.s, i.k, i.d, i.f, i.p, i.b, i.job_id, ${NOW}
        FROM input i ORDER BY i.ordinality
        ON CONFLICT (schedule_id, key) DO NOTHING
        RETURNING id, schedule_id, key, job_id),
      jobs AS (
        INSERT INTO ${s}.jobs (id, task, queue, state, input, priority, run_at, created_at, max_attempts, backoff_ms,
          backoff_factor, backoff_max_ms, backoff_jitter, timeout_ms, metadata, placement, concurrency_key,
          concurrency_limit, sandbox)
        OVERRIDING SYSTEM VALUE
        SELECT i.job_id, t.task, t.queue, 'pending', coalesce(i.i, 'null'::json), t.priority,
          coalesce(t.run_at, ${NOW} + t.delay_ms), ${NOW}, t.max_attempts, t.backoff_ms, t.factor, t.max_ms, t.jitter,
          t.timeout_ms, t.metadata, t.placement, t.concurrency_key, t.concurrency_limit, t.sandbox
        FROM input i JOIN tpl t ON t.idx = i.t
        WHERE i.job_id IN (SELECT job_id FROM runs) ORDER BY i.job_id)
      SELECT id, schedule_id, key, job_id FROM runs`,
    /** (schedule_ids[], keys[]) -> the runs holding these keys */
    runsByKey: `SELECT r.schedule_id, r.key, r.job_id, r.flow_id FROM ${s}.schedule_runs r
      JOIN unnest($1::bigint[], $2::text[]) AS k(schedule_id, key) ON r.schedule_id = k.schedule_id AND r.key = k.key`,
    /** (run ids[], flow ids[]) */
    setRunFlows: `UPDATE ${s}.schedule_runs r SET flow_id = u.flow_id
      FROM unnest($1::bigint[], $2::bigint[]) AS u(id, flow_id) WHERE r.id = u.id`,
    /**
     * ($1 now, then one array per fenced fire: id, next_fire_at, wake_at, fired, last_fire_at, state,
     * runtime (null: unchanged), versions added)
     */
    advanceSchedules: `UPDATE ${s}.schedules s SET next_fire_at = a.next_fire_at, wake_at = a.wake_at,
        fire_count = s.fire_count + a.fired, last_fire_at = a.last_fire_at, state = a.state,
        runtime = coalesce(a.runtime, s.runtime), version = s.version + a.bump, updated_at = ${NOW}
      FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::text[], $8::json[],
        $9::int[]) AS a(id, next_fire_at, wake_at, fired, last_fire_at, state, runtime, bump)
      WHERE s.id = a.id`,

    /**
     * ($1 now, then one array per fire, ids ascending and each once: id, version (the fence), next_fire_at,
     * wake_at, fired, last_fire_at, state, runtime (null: unchanged)) -> the ids whose fence held (the
     * schedule active at that version), advanced. The fence and the advance in one statement: rows are
     * locked as the join walks the ids (ascending, so two batches never deadlock), and a row changed by
     * a transaction that committed meanwhile is checked again at its new version.
     */
    advanceFenced: `UPDATE ${s}.schedules s SET next_fire_at = a.next_fire_at, wake_at = a.wake_at,
        fire_count = s.fire_count + a.fired, last_fire_at = a.last_fire_at, state = a.state,
        runtime = coalesce(a.runtime, s.runtime), version = s.version + 1, updated_at = ${NOW}
      FROM unnest($2::bigint[], $3::int[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::text[],
        $9::json[]) AS a(id, version, next_fire_at, wake_at, fired, last_fire_at, state, runtime)
      WHERE s.id = a.id AND s.version = a.version AND s.state = 'active'
      RETURNING s.id`,

    /** (schedule_ids[]) -> open runs of these schedules with their state (the caller closes finished ones) */
    openRuns: `SELECT ${RUN_COLUMNS}, ${RUN_ACTIVE} AS active FROM ${s}.schedule_runs r ${runJoins(s)}
      WHERE r.open AND r.schedule_id = ANY($1::bigint[]) ORDER BY r.created_at, r.id`,
    /** (run ids[]): runs seen finished or gone */
    closeRuns: `UPDATE ${s}.schedule_runs SET open = false WHERE id = ANY($1::bigint[]) AND open`,
    /** list: a prefix; the store appends WHERE / ORDER BY / LIMIT */
    listRunsPrefix: `SELECT ${RUN_COLUMNS} FROM ${s}.schedule_runs r ${runJoins(s)}`,

    /** ($1 now, dataset, partition, metadata) -> the partition, when new */
    markPartition: `INSERT INTO ${s}.dataset_partitions (dataset, partition, metadata, marked_at)
      VALUES ($2, $3, $4::json, ${NOW}) ON CONFLICT DO NOTHING
      RETURNING dataset, partition, metadata::text AS metadata, marked_at`,
    /** (dataset, partition) */
    getPartition: `SELECT dataset, partition, metadata::text AS metadata, marked_at FROM ${s}.dataset_partitions
      WHERE dataset = $1 AND partition = $2`,
    /**
     * ($1 now, dataset): active schedules watching the dataset look now (locked in id order). The
     * version grows, so a fire computed before the mark no longer applies and puts the wake back.
     */
    wakeWatchers: `WITH w AS (
        SELECT s.id FROM ${s}.schedules s JOIN ${s}.schedule_datasets d ON d.schedule_id = s.id
        WHERE d.dataset = $2 AND s.state = 'active' ORDER BY s.id FOR UPDATE OF s)
      UPDATE ${s}.schedules s SET wake_at = CASE WHEN s.wake_at IS NULL OR s.wake_at > ${NOW} THEN ${NOW}
          ELSE s.wake_at END, version = s.version + 1, updated_at = ${NOW}
      FROM w WHERE s.id = w.id`,
    /** () */
    listDatasets: `SELECT dataset AS name, count(*) AS partitions, max(marked_at) AS last_marked_at
      FROM ${s}.dataset_partitions GROUP BY dataset ORDER BY dataset`,
    /** (dataset, before marked_at|null, before partition, limit) -> newest mark first */
    listPartitions: `SELECT dataset, partition, metadata::text AS metadata, marked_at FROM ${s}.dataset_partitions
      WHERE dataset = $1 AND ($2::bigint IS NULL OR (marked_at, partition) < ($2::bigint, $3::text))
      ORDER BY marked_at DESC, partition DESC LIMIT $4`,
    /** (dataset, partitions[], per_partition) -> the newest runs of those partitions, of schedules watching the dataset */
    partitionRuns: `SELECT * FROM (
        SELECT ${RUN_COLUMNS},
          row_number() OVER (PARTITION BY r.partition ORDER BY r.created_at DESC, r.id DESC) AS rn
        FROM ${s}.schedule_runs r ${runJoins(s)}
        WHERE r.partition = ANY($2::text[]) AND r.schedule_id IN (
          SELECT schedule_id FROM ${s}.schedule_datasets WHERE dataset = $1)) x
      WHERE rn <= $3 ORDER BY created_at DESC, id DESC`,
    /**
     * (datasets[], count, since, schedule_id, limit) -> partitions every dataset has marked, the
     * last mark at or after `since`, without a run of the schedule yet; oldest completion first
     */
    readyPartitions: `SELECT p.partition FROM ${s}.dataset_partitions p
      WHERE p.dataset = ANY($1::text[]) AND p.partition IN (
        SELECT partition FROM ${s}.dataset_partitions WHERE dataset = ANY($1::text[]) AND marked_at >= $3)
      GROUP BY p.partition
      HAVING count(*) = $2 AND max(p.marked_at) >= $3 AND NOT EXISTS (
        SELECT 1 FROM ${s}.schedule_runs r WHERE r.schedule_id = $4 AND r.key = 'p:' || p.partition)
      ORDER BY max(p.marked_at), p.partition LIMIT $5`,
    /** (datasets[], count, from, to, limit) */
    completePartitions: `SELECT partition FROM ${s}.dataset_partitions
      WHERE dataset = ANY($1::text[]) AND partition >= $3 AND partition <= $4
      GROUP BY partition HAVING count(*) = $2 ORDER BY partition LIMIT $5`,

    /** (id) -> the schedule, share-locked (not deleted until commit) */
    shareSchedule: `SELECT id FROM ${s}.schedules WHERE id = $1 FOR SHARE`,
    /** ($1 now, schedule_id, from, to, partitions, concurrency, total) -> id */
    insertBackfill: `INSERT INTO ${s}.backfills (schedule_id, state, from_ms, to_ms, partitions, concurrency, total, created_at)
      VALUES ($2, 'running', $3, $4, $5::json, $6, $7, ${NOW}) RETURNING id`,
    /** (id) */
    lockBackfill: `SELECT id, schedule_id, state, created, skipped FROM ${s}.backfills WHERE id = $1 FOR UPDATE`,
    /** ($1 now, id, cursor given, cursor, created, skipped, state) */
    updateBackfill: `UPDATE ${s}.backfills SET cursor = CASE WHEN $3::boolean THEN $4::text ELSE cursor END,
        created = created + $5, skipped = skipped + $6, state = $7,
        finished_at = CASE WHEN $7 = 'running' THEN NULL ELSE ${NOW} END
      WHERE id = $2`,
    /** list: a prefix; the store appends WHERE / ORDER BY / LIMIT */
    listBackfillsPrefix: `SELECT ${BACKFILL_COLUMNS} FROM ${s}.backfills b JOIN ${s}.schedules s ON s.id = b.schedule_id`,
    /** (backfill ids[]) -> their runs by state now (null: deleted) */
    backfillRunStates: `SELECT r.backfill_id, CASE WHEN r.job_id IS NOT NULL THEN j.state ELSE f.state END AS state,
        count(*) AS n
      FROM ${s}.schedule_runs r LEFT JOIN ${s}.jobs j ON j.id = r.job_id LEFT JOIN ${s}.flows f ON f.id = r.flow_id
      WHERE r.backfill_id = ANY($1::bigint[]) GROUP BY 1, 2`,
  } as const;
}

export type PgScheduleStatements = ReturnType<typeof pgScheduleStatements>;

const cache = new WeakMap<Db, PgScheduleStatements>();

/**
 * Runs one of the statements above on `on`, prepared once per connection (as the store's named
 * statements are, under a name derived from the text).
 */
export function runSchedule<R = Record<string, unknown>>(
  db: Db,
  on: Queryable,
  key: keyof PgScheduleStatements,
  values: unknown[],
): Promise<R[]> {
  return db.runShaped<R>(on, scheduleStatements(db)[key], values);
}

/** The statements for the store's schema (made once per store). */
export function scheduleStatements(db: Db): PgScheduleStatements {
  let statements = cache.get(db);
  if (!statements) {
    statements = pgScheduleStatements(db.schema);
    cache.set(db, statements);
  }
  return statements;
}
