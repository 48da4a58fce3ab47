/**
 * Every statement the PostgreSQL store runs, for one schema. Values are always bound parameters;
 * only the schema name is interpolated, quoted as an identifier (or as a literal, in the NOTIFY
 * channel name). `$1` of every statement that
 * reads the time is `now`: null means the database's clock (`now()`, fixed within a transaction),
 * a number is an injected clock (tests).
 *
 * JSON columns are read back as text and flags as 0/1, so rows map like SQLite's (../rows.ts).
 */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

export const NOW = `coalesce($1::bigint, (extract(epoch from now()) * 1000)::bigint)`;

const JOB_COLUMNS = `id, task, queue, state, input::text AS input, output::text AS output, error::text AS error, priority,
  run_at, created_at, started_at, finished_at, attempt, attempt_base, max_attempts, backoff_ms, backoff_factor,
  backoff_max_ms, backoff_jitter, timeout_ms, worker_id, lease_expires_at, cancel_requested::int AS cancel_requested,
  progress_done, progress_total, metadata::text AS metadata, dedup_key, flow_id, flow_step, flow_role, placement::text AS placement,
  concurrency_key, concurrency_limit, unplaceable, sandbox::text AS sandbox`;

const CLAIMED_COLUMNS = `j.id, j.task, j.queue, j.input::text AS input, j.priority, j.attempt, j.attempt_base,
  j.max_attempts, j.backoff_ms, j.backoff_factor, j.backoff_max_ms, j.backoff_jitter, j.timeout_ms,
  j.metadata::text AS metadata, j.created_at, j.flow_id, j.flow_step, j.flow_role, j.placement::text AS placement,
  j.sandbox::text AS sandbox`;

export function pgStatements(schema: string) {
  const s = quoteIdent(schema);
  /**
   * A CTE `announced` for a statement whose CTE `inserted` (id, run_at) inserts jobs of one
   * queue (`queueParam`): NOTIFYs `a:<queue>`, with `@<due>` when none is due yet, and sets
   * `stint.notified` for its transaction, which tells the insert trigger (migration 8) that its
   * inserts are announced. Join `announced` so it is evaluated.
   */
  const announceInserted = (queueParam: string) => `announced AS MATERIALIZED (
        SELECT pg_notify(${quoteLiteral(`${schema}.jobs`)}, 'a:' || ${queueParam}::text
          || CASE WHEN min(run_at) > ${NOW} THEN '@' || min(run_at) ELSE '' END),
          set_config('stint.notified', 'on', true)
        FROM inserted)`;
  /** ($1 now, worker_id, lease_ms, queues[], tasks[], limit) -> claimed rows (also inside succeedAndClaim) */
  const claimUpdate = `UPDATE ${s}.jobs j SET state = 'running', attempt = j.attempt + 1, worker_id = $2, started_at = ${NOW},
        lease_expires_at = ${NOW} + $3::bigint, progress_done = NULL, progress_total = NULL
      WHERE j.id = ANY(ARRAY(
        SELECT c.id FROM unnest($4::text[]) AS q(name) CROSS JOIN LATERAL (
          SELECT id, priority, run_at FROM ${s}.jobs
          WHERE state = 'pending' AND placement IS NULL AND concurrency_key IS NULL AND queue = q.name
            AND run_at <= ${NOW} AND task = ANY($5::text[])
          ORDER BY priority DESC, run_at, id LIMIT $6
          FOR UPDATE SKIP LOCKED) c
        ORDER BY c.priority DESC, c.run_at, c.id LIMIT $6))
      RETURNING ${CLAIMED_COLUMNS}`;
  return {
    /**
     * ($1 now, task, queue, input, priority, run_at|null, delay_ms, max_attempts, backoff_ms, factor, max_ms, jitter,
     * timeout_ms, metadata, dedup_key, placement, concurrency_key, concurrency_limit, sandbox) -> id
     * NOTIFYs `a:<queue>[@<due>]` itself (see `announceInserted`).
     */
    insertJob: `WITH inserted AS (
        INSERT INTO ${s}.jobs (task, queue, state, input, priority, run_at, created_at, max_attempts, backoff_ms,
          backoff_factor, backoff_max_ms, backoff_jitter, timeout_ms, metadata, dedup_key, placement, concurrency_key,
          concurrency_limit, sandbox)
        VALUES ($2, $3, 'pending', $4::json, $5, coalesce($6::bigint, ${NOW} + $7::bigint), ${NOW}, $8, $9, $10, $11, $12,
          $13, $14::jsonb, $15, $16::jsonb, $17, $18, $19::jsonb)
        RETURNING id, run_at),
      ${announceInserted('$3')}
      SELECT inserted.id FROM inserted CROSS JOIN announced`,

    /**
     * ($1 now, task, queue, priority, run_at|null, delay_ms, max_attempts, backoff_ms, factor, max_ms, jitter, timeout_ms,
     * metadata, inputs as one JSON array, placement, concurrency_key, concurrency_limit, sandbox)
     * -> one row: the new ids, ascending, comma-separated.
     * One JSON text for all the inputs: the database parses one document instead of an array
     * literal of 1,000 quoted texts, and the client builds one string (~10 % more jobs/s). The ids
     * come back as one text too: a row per job halved the client's CPU for nothing.
     * NOTIFYs `a:<queue>[@<due>]` itself (see `announceInserted`).
     */
    insertJobsSharing: `WITH inserted AS (
        INSERT INTO ${s}.jobs (task, queue, state, input, priority, run_at, created_at, max_attempts,
          backoff_ms, backoff_factor, backoff_max_ms, backoff_jitter, timeout_ms, metadata, placement, concurrency_key,
          concurrency_limit, sandbox)
        SELECT $2, $3, 'pending', i.input, $4, coalesce($5::bigint, ${NOW} + $6::bigint), ${NOW}, $7, $8, $9, $10, $11,
          $12, $13::jsonb, $15::jsonb, $16, $17, $18::jsonb
        FROM json_array_elements($14::json) WITH ORDINALITY AS i(input, n) ORDER BY i.n
        RETURNING id, run_at),
      ${announceInserted('$3')}
      SELECT string_agg(inserted.id::text, ',' ORDER BY inserted.id) AS ids FROM inserted CROSS JOIN announced`,

    /** (key): makes sure the key's row exists, so it can be locked */
    touchDedup: `INSERT INTO ${s}.dedup_keys (key, job_id, expires_at) VALUES ($1, 0, 0) ON CONFLICT (key) DO NOTHING`,
    /** (key) -> the key's holder, locked until commit: concurrent submits of one key queue up here */
    lockDedup: `SELECT d.job_id AS "jobId", d.expires_at AS "expiresAt", j.state
      FROM ${s}.dedup_keys d LEFT JOIN ${s}.jobs j ON j.id = d.job_id WHERE d.key = $1 FOR UPDATE OF d`,
    /** (key, job_id, expires_at) */
    setDedup: `UPDATE ${s}.dedup_keys SET job_id = $2, expires_at = $3 WHERE key = $1`,

    /** ($1 now, worker_id, lease_ms, queues[], tasks[], limit) -> claimed rows */
    claim: claimUpdate,

    /**
     * ($1 now, worker_id, lease_ms, queues[], tasks[], limit, ids[], attempts[], outputs json[], channel)
     * -> one row per claimed job (claim columns null when none); the first carries the ids of
     * the successes applied, comma-separated (with the list on every row, parsing it cost O(n²)).
     * A worker's hot path in one autocommit statement: plain successes (no flow, logs or
     * progress) are written, NOTIFYed as `f:<ids>` (`x:` when too long for a payload), and the
     * next jobs claimed. The two updates touch disjoint rows (running ones, pending ones).
     */
    succeedAndClaim: `WITH done AS (
        UPDATE ${s}.jobs j SET state = 'succeeded', output = c.output, finished_at = ${NOW}, lease_expires_at = NULL
        FROM unnest($7::bigint[], $8::int[], $9::json[]) AS c(id, attempt, output)
        WHERE j.id = c.id AND j.attempt = c.attempt AND j.state = 'running'
        RETURNING j.id),
      listed AS (SELECT string_agg(id::text, ',') AS text FROM done),
      noted AS (
        SELECT pg_notify($10, CASE WHEN length(text) > 7900 THEN 'x:' ELSE 'f:' || text END) FROM listed
        WHERE text IS NOT NULL),
      claimed AS (
        ${claimUpdate})
      SELECT CASE WHEN row_number() OVER () = 1 THEN l.text END AS done_ids,
        (SELECT count(*) FROM noted)::int AS noted, j.*
      FROM listed l LEFT JOIN claimed j ON true`,

    /** ($1 now, ids[], attempts[], outputs json[]) -> ids applied */
    succeedBatch: `UPDATE ${s}.jobs j SET state = 'succeeded', output = c.output, finished_at = ${NOW}, lease_expires_at = NULL
      FROM unnest($2::bigint[], $3::int[], $4::json[]) AS c(id, attempt, output)
      WHERE j.id = c.id AND j.attempt = c.attempt AND j.state = 'running'
      RETURNING j.id`,

    /** (id, attempt): the start of an attempt going back to pending, kept as an event */
    keepStartEvent: `INSERT INTO ${s}.job_events (job_id, at, type, attempt, worker_id)
      SELECT id, started_at, 'started', attempt, worker_id FROM ${s}.jobs
      WHERE id = $1 AND attempt = $2 AND state = 'running' AND started_at IS NOT NULL`,
    /** (id) */
    keepStartEventOfFinished: `INSERT INTO ${s}.job_events (job_id, at, type, attempt, worker_id)
      SELECT id, started_at, 'started', attempt, worker_id FROM ${s}.jobs WHERE id = $1 AND started_at IS NOT NULL`,

    /** ($1 now, error, id, attempt) */
    fail: `UPDATE ${s}.jobs SET state = 'failed', error = $2::json, finished_at = ${NOW}, lease_expires_at = NULL
      WHERE id = $3 AND attempt = $4 AND state = 'running' RETURNING queue`,
    /** ($1 now, error, delay_ms, id, attempt) */
    retryLater: `UPDATE ${s}.jobs SET state = 'pending', error = $2::json, run_at = ${NOW} + $3::bigint,
        lease_expires_at = NULL, worker_id = NULL, started_at = NULL
      WHERE id = $4 AND attempt = $5 AND state = 'running' RETURNING queue`,
    /** ($1 now, error, id, attempt) */
    cancelRunning: `UPDATE ${s}.jobs SET state = 'cancelled', error = $2::json, finished_at = ${NOW}, lease_expires_at = NULL
      WHERE id = $3 AND attempt = $4 AND state = 'running' RETURNING queue`,
    /** ($1 now, id, attempt) */
    release: `UPDATE ${s}.jobs SET state = 'pending', run_at = ${NOW}, attempt_base = attempt_base + 1,
        lease_expires_at = NULL, worker_id = NULL, started_at = NULL
      WHERE id = $2 AND attempt = $3 AND state = 'running' RETURNING queue`,

    /** (id) */
    jobStateAttempt: `SELECT state, attempt, queue FROM ${s}.jobs WHERE id = $1`,
    /** (job_id, at, type, attempt, worker_id, detail) */
    insertEvent: `INSERT INTO ${s}.job_events (job_id, at, type, attempt, worker_id, detail) VALUES ($1, $2, $3, $4, $5, $6::json)`,
    /** ($1 now) -> the time */
    now: `SELECT ${NOW} AS now`,

    /** (job_ids[], attempts[], ats[], levels[], messages[], fields json[], streams[]) */
    /** (ids[], lines[]) -> each job's line count before these */
    countLogLines: `UPDATE ${s}.jobs j SET log_lines = j.log_lines + c.n FROM unnest($1::bigint[], $2::int[]) AS c(id, n)
      WHERE j.id = c.id RETURNING j.id, j.log_lines - c.n AS before`,
    insertLogs: `INSERT INTO ${s}.job_logs (job_id, attempt, at, level, message, fields, stream)
      SELECT * FROM unnest($1::bigint[], $2::int[], $3::bigint[], $4::text[], $5::text[], $6::json[], $7::text[])`,
    /** (done, total, id, attempt) */
    setProgress: `UPDATE ${s}.jobs SET progress_done = $1, progress_total = $2 WHERE id = $3 AND attempt = $4 AND state = 'running'`,

    /** ($1 now, lease_ms, ids[], attempts[]) -> leases still held, with their cancel flag */
    extendLeases: `UPDATE ${s}.jobs j SET lease_expires_at = ${NOW} + $2::bigint
      FROM unnest($3::bigint[], $4::int[]) AS t(id, attempt)
      WHERE j.id = t.id AND j.attempt = t.attempt AND j.state = 'running'
      RETURNING j.id, j.cancel_requested::int AS cancel_requested`,

    /** ($1 now, limit) -> expired running jobs, locked */
    expiredLeases: `SELECT id, attempt, attempt_base, max_attempts, backoff_ms, backoff_factor, backoff_max_ms,
        backoff_jitter, worker_id, cancel_requested::int AS cancel_requested, queue, flow_id, flow_step, flow_role
      FROM ${s}.jobs
      WHERE state = 'running' AND lease_expires_at < ${NOW} ORDER BY lease_expires_at LIMIT $2 FOR UPDATE SKIP LOCKED`,

    /** (id) */
    getJob: `SELECT ${JOB_COLUMNS} FROM ${s}.jobs WHERE id = $1`,
    /** (id) */
    getJobForUpdate: `SELECT ${JOB_COLUMNS} FROM ${s}.jobs WHERE id = $1 FOR UPDATE`,
    /** (id) */
    jobEvents: `SELECT job_id, at, type, attempt, worker_id, detail::text AS detail FROM ${s}.job_events WHERE job_id = $1 ORDER BY id`,
    /** (id, after_id, limit) */
    jobLogs: `SELECT id, job_id, attempt, at, level, stream, message, fields::text AS fields FROM ${s}.job_logs
      WHERE job_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
    /** (flow_id, after_id, limit) */
    flowLogs: `SELECT l.id, l.job_id, l.attempt, l.at, l.level, l.stream, l.message, l.fields::text AS fields, j.flow_step,
        j.flow_role FROM ${s}.jobs j JOIN ${s}.job_logs l ON l.job_id = j.id
      WHERE j.flow_id = $1 AND l.id > $2 ORDER BY l.id LIMIT $3`,
    /** list: a prefix; the store appends WHERE / ORDER BY / LIMIT */
    listPrefix: `SELECT ${JOB_COLUMNS} FROM ${s}.jobs`,

    /** ($1 now, error, id) */
    cancelPending: `UPDATE ${s}.jobs SET state = 'cancelled', error = $2::json, finished_at = ${NOW} WHERE id = $3 AND state = 'pending'`,
    /** (id) */
    requestCancel: `UPDATE ${s}.jobs SET cancel_requested = true WHERE id = $1 AND state = 'running'`,
    /** ($1 now, id) */
    retryFinished: `UPDATE ${s}.jobs SET state = 'pending', run_at = ${NOW}, attempt_base = attempt, finished_at = NULL,
        started_at = NULL, output = NULL, error = NULL, cancel_requested = false, progress_done = NULL,
        progress_total = NULL, worker_id = NULL
      WHERE id = $2 AND state IN ('failed', 'cancelled')`,

    /**
     * (before, limit) -> jobs and flows deleted. Jobs of flows go with their flow, once it is finished
     * and old enough, together with its steps and edges.
     */
    deleteFinished: `WITH plain AS (
        SELECT id FROM ${s}.jobs WHERE state IN ('succeeded', 'failed', 'cancelled') AND finished_at < $1
          AND flow_id IS NULL
        ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED),
      old_flows AS (
        SELECT id FROM ${s}.flows WHERE finished_at < $1 ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED),
      doomed AS (
        SELECT id FROM plain UNION ALL SELECT id FROM ${s}.jobs WHERE flow_id IN (SELECT id FROM old_flows)),
      e AS (DELETE FROM ${s}.job_events WHERE job_id IN (SELECT id FROM doomed)),
      l AS (DELETE FROM ${s}.job_logs WHERE job_id IN (SELECT id FROM doomed)),
      d AS (DELETE FROM ${s}.dedup_keys WHERE job_id IN (SELECT id FROM doomed)),
      fe AS (DELETE FROM ${s}.flow_edges WHERE flow_id IN (SELECT id FROM old_flows)),
      fs AS (DELETE FROM ${s}.flow_steps WHERE flow_id IN (SELECT id FROM old_flows)),
      f AS (DELETE FROM ${s}.flows WHERE id IN (SELECT id FROM old_flows) RETURNING id),
      j AS (DELETE FROM ${s}.jobs WHERE id IN (SELECT id FROM doomed) RETURNING id)
      SELECT (SELECT count(*) FROM j)::int AS jobs, (SELECT count(*) FROM f)::int AS flows`,

    /** ($1 now, name, holder, ttl_ms) -> term, when taken or renewed */
    acquireLease: `INSERT INTO ${s}.leases AS l (name, holder, term, expires_at) VALUES ($2, $3, 1, ${NOW} + $4::bigint)
      ON CONFLICT (name) DO UPDATE SET
        term = CASE WHEN l.holder = excluded.holder THEN l.term ELSE l.term + 1 END,
        holder = excluded.holder, expires_at = excluded.expires_at
      WHERE l.holder = excluded.holder OR l.expires_at <= ${NOW}
      RETURNING term`,
    /** (name, holder) */
    releaseLease: `UPDATE ${s}.leases SET expires_at = 0 WHERE name = $1 AND holder = $2`,

    /**
     * ($1 now, name, queue, priority, max_attempts, backoff_ms, factor, max_ms, jitter, timeout_ms, revertible,
     * placement, concurrency, input_schema, description)
     */
    registerTask: `INSERT INTO ${s}.tasks (name, queue, priority, max_attempts, backoff_ms, backoff_factor, backoff_max_ms,
        backoff_jitter, timeout_ms, updated_at, revertible, placement, concurrency, input_schema, description)
      VALUES ($2, $3, $4, $5, $6, $7, $8, $9, $10, ${NOW}, $11, $12::jsonb, $13::jsonb, $14::jsonb, $15)
      ON CONFLICT (name) DO UPDATE SET queue = excluded.queue, priority = excluded.priority,
        max_attempts = excluded.max_attempts, backoff_ms = excluded.backoff_ms, backoff_factor = excluded.backoff_factor,
        backoff_max_ms = excluded.backoff_max_ms, backoff_jitter = excluded.backoff_jitter,
        timeout_ms = excluded.timeout_ms, updated_at = excluded.updated_at, revertible = excluded.revertible,
        placement = excluded.placement, concurrency = excluded.concurrency, input_schema = excluded.input_schema,
        description = excluded.description`,
    /** (name) */
    getTask: `SELECT name, queue, priority, max_attempts, backoff_ms, backoff_factor, backoff_max_ms, backoff_jitter,
        timeout_ms, revertible, placement::text AS placement, concurrency::text AS concurrency
      FROM ${s}.tasks WHERE name = $1`,

    /** (flow_ids[]): the flows of a batch's completions, locked in id order (so batches never deadlock) */
    lockFlows: `SELECT id FROM ${s}.flows WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE`,
    /** (ids) -> those of the jobs whose cancel was requested */
    cancelRequestedOf: `SELECT id FROM ${s}.jobs WHERE id = ANY($1::bigint[]) AND cancel_requested`,
  } as const;
}

export type PgStatements = ReturnType<typeof pgStatements>;
