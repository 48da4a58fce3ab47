import type { Db, Queryable } from './db.js';
import { NOW, quoteIdent } from './sql.js';

/**
 * The statements of placement (conventions as in sql.ts: `$1` is `now` wherever a statement reads
 * the time): claims of placed jobs and of rate-limited queues, admission limits, the worker
 * registry. Rows are cast to match SQLite's (../placement-rows.ts).
 */
const WORKER_COLUMNS = `id, host, pid, version, queues::text AS queues, tasks::text AS tasks, labels::text AS labels,
  capacity::text AS capacity, in_use::text AS in_use, concurrency, running, heartbeat_ms, state, started_at,
  heartbeat_at, stopped_at`;
const QUEUE_COLUMNS =
  'name, max_pending, shed_policy, rate_limit, rate_period_ms, window_start, window_count';

export function pgPlacementStatements(schema: string) {
  const s = quoteIdent(schema);
  return {
    /**
     * ($1 now, queues[], tasks[], limit per queue) -> pending placed jobs of each queue in claim
     * order, locked (others' locked rows skipped); jobs of a concurrency key at its limit (by this
     * statement's snapshot: the exact count comes after the key's lock) are passed over, so a long
     * line of one saturated key cannot hide the jobs behind it
     */
    placedCandidates: `SELECT c.* FROM unnest($2::text[]) AS q(name) CROSS JOIN LATERAL (
        SELECT id, queue, priority, run_at, placement::text AS placement, concurrency_key, concurrency_limit
        FROM ${s}.jobs
        WHERE state = 'pending' AND (placement IS NOT NULL OR concurrency_key IS NOT NULL) AND queue = q.name
          AND run_at <= ${NOW} AND task = ANY($3::text[])
          AND (concurrency_key IS NULL OR concurrency_limit > (SELECT count(*) FROM ${s}.jobs r
            WHERE r.state = 'running' AND r.concurrency_key = ${s}.jobs.concurrency_key))
        ORDER BY priority DESC, run_at, id LIMIT $4
        FOR UPDATE SKIP LOCKED) c`,
    /** ($1 now, queues[]) -> whether any placed job of these queues is due (a claim found none it could take) */
    anyPlaced: `SELECT EXISTS (SELECT 1 FROM unnest($2::text[]) AS q(name) CROSS JOIN LATERAL (
        SELECT 1 FROM ${s}.jobs WHERE state = 'pending' AND (placement IS NOT NULL OR concurrency_key IS NOT NULL)
          AND queue = q.name AND run_at <= ${NOW} LIMIT 1) j) AS found`,
    /** ($1 now, queues[], tasks[], limits[]) -> plain pending jobs of each queue up to its limit, locked */
    plainCandidates: `SELECT c.* FROM unnest($2::text[], $4::int[]) AS q(name, n) CROSS JOIN LATERAL (
        SELECT id, queue, priority, run_at FROM ${s}.jobs
        WHERE state = 'pending' AND placement IS NULL AND concurrency_key IS NULL AND queue = q.name
          AND run_at <= ${NOW} AND task = ANY($3::text[])
        ORDER BY priority DESC, run_at, id LIMIT q.n
        FOR UPDATE SKIP LOCKED) c`,
    /**
     * (keys[]) -> takes each key's transaction lock, in key order: every claim of a keyed job takes
     * it before counting, so two claimers of one key count in turn. The count must be a statement
     * of its own (`runningOfKeys`): a statement's snapshot is taken when it starts, before a lock it
     * waited for was granted, and would miss the claim committed meanwhile.
     */
    lockKeys: `SELECT count(pg_advisory_xact_lock(hashtext('stint.ck.' || k)))::int AS n
      FROM (SELECT k FROM unnest($1::text[]) AS k ORDER BY k) keys`,
    /** (keys[]) -> each key's running jobs (after lockKeys, in a new statement: a fresh snapshot) */
    runningOfKeys: `SELECT k AS key, (SELECT count(*)::int FROM ${s}.jobs j WHERE j.state = 'running' AND j.concurrency_key = k) AS n
      FROM unnest($1::text[]) AS k`,
    /** ($1 now, worker_id, lease_ms, ids[]) -> claimed rows */
    claimIds: `UPDATE ${s}.jobs j SET state = 'running', attempt = j.attempt + 1, worker_id = $2, started_at = ${NOW},
        lease_expires_at = ${NOW} + $3::bigint, progress_done = NULL, progress_total = NULL
      WHERE j.id = ANY($4::bigint[]) AND j.state = 'pending'
      RETURNING j.id, j.task, j.queue, j.input::text AS input, j.priority, j.attempt, j.attempt_base,
        j.max_attempts, j.backoff_ms, j.backoff_factor, j.backoff_max_ms, j.backoff_jitter, j.timeout_ms,
        j.metadata::text AS metadata, j.created_at, j.flow_id, j.flow_step, j.flow_role, j.placement::text AS placement,
        j.sandbox::text AS sandbox`,

    /** -> the queues with a rate or admission limit (the store caches them for a second) */
    limitedQueues: `SELECT ${QUEUE_COLUMNS} FROM ${s}.queues WHERE rate_limit IS NOT NULL OR max_pending IS NOT NULL`,
    /** (names[]) -> rate-limited queues among them, locked until commit */
    lockRateWindows: `SELECT ${QUEUE_COLUMNS} FROM ${s}.queues WHERE name = ANY($1::text[]) AND rate_limit IS NOT NULL
      ORDER BY name FOR UPDATE`,
    /** (name, window_start, window_count) */
    setWindow: `UPDATE ${s}.queues SET window_start = $2, window_count = $3 WHERE name = $1`,
    /** (name) -> the queue's admission limit, locked until commit (submits to a limited queue queue up here) */
    lockAdmission: `SELECT max_pending, shed_policy FROM ${s}.queues WHERE name = $1 AND max_pending IS NOT NULL FOR UPDATE`,
    /** (queue, cap) -> pending jobs of the queue, counted up to cap */
    pendingCount: `SELECT
        (SELECT count(*) FROM (SELECT 1 FROM ${s}.jobs WHERE state = 'pending' AND placement IS NULL
           AND concurrency_key IS NULL AND queue = $1 LIMIT $2) a)
      + (SELECT count(*) FROM (SELECT 1 FROM ${s}.jobs WHERE state = 'pending'
           AND (placement IS NOT NULL OR concurrency_key IS NOT NULL) AND queue = $1 LIMIT $2) b) AS n`,
    /** (queue) -> the pending job outside flows to shed first, locked */
    lowestPending: `SELECT id, priority FROM ${s}.jobs WHERE state = 'pending' AND queue = $1 AND flow_id IS NULL
      ORDER BY priority, run_at DESC, id DESC LIMIT 1 FOR UPDATE SKIP LOCKED`,
    /** ($1 now, id, error json, detail json) -> cancels a shed job and records it */
    shed: `WITH c AS (UPDATE ${s}.jobs SET state = 'cancelled', error = $3::json, finished_at = ${NOW}
        WHERE id = $2 AND state = 'pending' RETURNING id)
      INSERT INTO ${s}.job_events (job_id, at, type, attempt, worker_id, detail)
      SELECT id, ${NOW}, 'cancelled', NULL, NULL, $4::json FROM c`,
    /** (name) */
    getQueue: `SELECT ${QUEUE_COLUMNS} FROM ${s}.queues WHERE name = $1`,
    /** ($1 now, name, max_pending, shed_policy, rate_limit, rate_period_ms) */
    upsertQueue: `INSERT INTO ${s}.queues (name, max_pending, shed_policy, rate_limit, rate_period_ms, updated_at)
      VALUES ($2, $3, $4, $5, $6, ${NOW})
      ON CONFLICT (name) DO UPDATE SET max_pending = excluded.max_pending, shed_policy = excluded.shed_policy,
        rate_limit = excluded.rate_limit, rate_period_ms = excluded.rate_period_ms, updated_at = excluded.updated_at`,
    allQueues: `SELECT ${QUEUE_COLUMNS} FROM ${s}.queues`,
    /** ($1 now) -> per queue and state: jobs, due pending jobs, jobs finished in the last minute */
    queueCounts: `SELECT queue, state, count(*)::int AS n,
        count(*) FILTER (WHERE state = 'pending' AND run_at <= ${NOW})::int AS due,
        count(*) FILTER (WHERE state IN ('succeeded', 'failed') AND finished_at >= ${NOW} - 60000)::int AS recent
      FROM ${s}.jobs GROUP BY queue, state`,

    /**
     * ($1 now, id, host, pid, version, queues, tasks, labels, capacity, in_use, concurrency, running,
     * heartbeat_ms) -> announces a worker or renews its heartbeat
     */
    heartbeat: `INSERT INTO ${s}.workers (id, host, pid, version, queues, tasks, labels, capacity, in_use, concurrency,
        running, heartbeat_ms, state, started_at, heartbeat_at)
      VALUES ($2, $3, $4, $5, $6::jsonb, $7::jsonb, $8::jsonb, $9::jsonb, $10::jsonb, $11, $12, $13, 'active', ${NOW}, ${NOW})
      ON CONFLICT (id) DO UPDATE SET queues = excluded.queues, tasks = excluded.tasks, labels = excluded.labels,
        capacity = excluded.capacity, in_use = excluded.in_use, concurrency = excluded.concurrency,
        running = excluded.running, heartbeat_ms = excluded.heartbeat_ms, state = 'active',
        heartbeat_at = excluded.heartbeat_at, stopped_at = NULL`,
    /** ($1 now, id) */
    stopWorker: `UPDATE ${s}.workers SET state = 'stopped', stopped_at = ${NOW}, running = 0, in_use = '{}'
      WHERE id = $2`,
    /** (state|null) */
    listWorkers: `SELECT ${WORKER_COLUMNS} FROM ${s}.workers WHERE $1::text IS NULL OR state = $1
      ORDER BY state <> 'active', id`,
    /** ($1 now) -> marks silent active workers gone: three heartbeats missed, and 5 s more */
    markGone: `UPDATE ${s}.workers SET state = 'gone', stopped_at = ${NOW}
      WHERE state = 'active' AND heartbeat_at < ${NOW} - 3 * heartbeat_ms - 5000 RETURNING id`,
    /** ($1 now, forget_ms) */
    forgetWorkers: `DELETE FROM ${s}.workers WHERE state <> 'active' AND heartbeat_at < ${NOW} - $2::bigint`,
    pendingPlacements: `SELECT queue, placement::text AS placement, unplaceable FROM ${s}.jobs
      WHERE state = 'pending' AND placement IS NOT NULL GROUP BY queue, placement, unplaceable`,
    /** (reason, queue, placement) */
    setUnplaceable: `UPDATE ${s}.jobs SET unplaceable = $1
      WHERE state = 'pending' AND placement IS NOT NULL AND queue = $2 AND placement = $3::jsonb
        AND unplaceable IS DISTINCT FROM $1 RETURNING id`,
  } as const;
}

export type PgPlacementStatements = ReturnType<typeof pgPlacementStatements>;

const cache = new WeakMap<Db, PgPlacementStatements>();

/** Runs one of the statements above, prepared once per connection. */
export function runPlacement<R = Record<string, unknown>>(
  db: Db,
  on: Queryable,
  key: keyof PgPlacementStatements,
  values: unknown[],
): Promise<R[]> {
  let statements = cache.get(db);
  if (!statements) {
    statements = pgPlacementStatements(db.schema);
    cache.set(db, statements);
  }
  return db.runShaped<R>(on, statements[key], values);
}
