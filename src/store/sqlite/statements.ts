import type Database from 'better-sqlite3';

/**
 * Every statement the SQLite store runs, prepared once per connection. The comment above each
 * lists its parameters. Values are always bound parameters; times are integer milliseconds.
 */
const SQL = {
  /**
   * (task, queue, input, priority, run_at, created_at, max_attempts, backoff_ms, backoff_factor,
   *  backoff_max_ms, backoff_jitter, timeout_ms, metadata, dedup_key, placement, concurrency_key,
   *  concurrency_limit, sandbox)
   */
  insertJob: `INSERT INTO jobs (task, queue, state, input, priority, run_at, created_at, max_attempts, backoff_ms,
      backoff_factor, backoff_max_ms, backoff_jitter, timeout_ms, metadata, dedup_key, placement, concurrency_key,
      concurrency_limit, sandbox)
    VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,

  /**
   * (task, queue, priority, run_at, created_at, max_attempts, backoff_ms, backoff_factor, backoff_max_ms,
   *  backoff_jitter, timeout_ms, metadata, placement, concurrency_key, concurrency_limit, sandbox, inputs_json):
   * one job per element of inputs_json, all else shared (what submitMany sends). Run inside the
   * write transaction, rowids are consecutive.
   */
  insertJobsSharing: `INSERT INTO jobs (task, queue, state, input, priority, run_at, created_at, max_attempts, backoff_ms,
      backoff_factor, backoff_max_ms, backoff_jitter, timeout_ms, metadata, placement, concurrency_key, concurrency_limit,
      sandbox)
    SELECT ?, ?, 'pending',
      CASE type WHEN 'text' THEN json_quote(value) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false'
        WHEN 'null' THEN 'null' ELSE value END,
      ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM json_each(?)`,

  /** (key) -> the key's holder and whether that job is still unfinished */
  dedupHolder: `SELECT d.job_id AS jobId, d.expires_at AS expiresAt, j.state AS state
    FROM dedup_keys d LEFT JOIN jobs j ON j.id = d.job_id WHERE d.key = ?`,

  /** (key, job_id, expires_at) */
  upsertDedup: `INSERT INTO dedup_keys (key, job_id, expires_at) VALUES (?, ?, ?)
    ON CONFLICT (key) DO UPDATE SET job_id = excluded.job_id, expires_at = excluded.expires_at`,

  /** (worker_id, now, lease_expires_at, queue, now, tasks_json, limit) -> claimed rows */
  claimFromQueue: `UPDATE jobs SET state = 'running', attempt = attempt + 1, worker_id = ?, started_at = ?,
      lease_expires_at = ?, progress_done = NULL, progress_total = NULL
    WHERE id IN (
      SELECT id FROM jobs
      WHERE state = 'pending' AND placement IS NULL AND concurrency_key IS NULL AND queue = ? AND run_at <= ?
        AND task IN (SELECT value FROM json_each(?))
      ORDER BY priority DESC, run_at, id LIMIT ?)
    RETURNING id, task, queue, input, priority, attempt, attempt_base, max_attempts, backoff_ms, backoff_factor,
      backoff_max_ms, backoff_jitter, timeout_ms, metadata, created_at, flow_id, flow_step, flow_role, placement,
      sandbox`,

  /** (queue, now, tasks_json, limit) -> candidates of one queue, in claim order */
  candidatesOfQueue: `SELECT id, priority, run_at FROM jobs
    WHERE state = 'pending' AND placement IS NULL AND concurrency_key IS NULL AND queue = ? AND run_at <= ?
      AND task IN (SELECT value FROM json_each(?))
    ORDER BY priority DESC, run_at, id LIMIT ?`,

  /** (worker_id, now, lease_expires_at, ids_json) -> claimed rows */
  claimByIds: `UPDATE jobs SET state = 'running', attempt = attempt + 1, worker_id = ?, started_at = ?,
      lease_expires_at = ?, progress_done = NULL, progress_total = NULL
    WHERE state = 'pending' AND id IN (SELECT value FROM json_each(?))
    RETURNING id, task, queue, input, priority, attempt, attempt_base, max_attempts, backoff_ms, backoff_factor,
      backoff_max_ms, backoff_jitter, timeout_ms, metadata, created_at, flow_id, flow_step, flow_role, placement,
      sandbox`,

  /** (job_id, at, type, attempt, worker_id, detail_json) */
  insertEvent:
    'INSERT INTO job_events (job_id, at, type, attempt, worker_id, detail) VALUES (?, ?, ?, ?, ?, ?)',

  /** (now, completions_json) -> ids applied. Elements: [id, attempt, output]. */
  succeedBatch: `UPDATE jobs SET state = 'succeeded', output = nullif(c.output, 'null'), finished_at = ?,
      lease_expires_at = NULL
    FROM (SELECT value ->> 0 AS id, value ->> 1 AS attempt, value -> 2 AS output FROM json_each(?)) AS c
    WHERE jobs.id = c.id AND jobs.attempt = c.attempt AND jobs.state = 'running'
    RETURNING jobs.id`,

  /**
   * (id, attempt) -> records the start of a running attempt as an event, just before the row's
   * started_at is cleared (see read.ts: while started_at is set, that start is read from the row).
   */
  keepStartEvent: `INSERT INTO job_events (job_id, at, type, attempt, worker_id)
    SELECT id, started_at, 'started', attempt, worker_id FROM jobs
    WHERE id = ? AND attempt = ? AND state = 'running' AND started_at IS NOT NULL`,

  /** (id) -> the same, for a finished job about to be retried by hand */
  keepStartEventOfFinished: `INSERT INTO job_events (job_id, at, type, attempt, worker_id)
    SELECT id, started_at, 'started', attempt, worker_id FROM jobs WHERE id = ? AND started_at IS NOT NULL`,

  /** (error_json, now, id, attempt) */
  fail: `UPDATE jobs SET state = 'failed', error = ?, finished_at = ?, lease_expires_at = NULL
    WHERE id = ? AND attempt = ? AND state = 'running'`,

  /** (error_json, run_at, id, attempt) */
  retryLater: `UPDATE jobs SET state = 'pending', error = ?, run_at = ?, lease_expires_at = NULL, worker_id = NULL,
      started_at = NULL
    WHERE id = ? AND attempt = ? AND state = 'running'`,

  /** (error_json, now, id, attempt) */
  cancelRunning: `UPDATE jobs SET state = 'cancelled', error = ?, finished_at = ?, lease_expires_at = NULL
    WHERE id = ? AND attempt = ? AND state = 'running'`,

  /** (now, id, attempt): back to pending without using up an attempt */
  release: `UPDATE jobs SET state = 'pending', run_at = ?, attempt_base = attempt_base + 1,
      lease_expires_at = NULL, worker_id = NULL, started_at = NULL
    WHERE id = ? AND attempt = ? AND state = 'running'`,

  /** (ids_json) -> those of the jobs whose cancel was requested */
  cancelRequestedOf: `SELECT id FROM jobs WHERE id IN (SELECT value FROM json_each(?)) AND cancel_requested = 1`,

  /** (id) */
  jobStateAttempt: 'SELECT state, attempt, queue FROM jobs WHERE id = ?',

  /** (job_id, attempt, at, level, message, fields_json) */
  /** (lines, id) -> the job's line count after adding these */
  countLogLines: 'UPDATE jobs SET log_lines = log_lines + ? WHERE id = ? RETURNING log_lines',
  insertLog:
    'INSERT INTO job_logs (job_id, attempt, at, level, message, fields, stream) VALUES (?, ?, ?, ?, ?, ?, ?)',

  /** (done, total, id, attempt) */
  setProgress: `UPDATE jobs SET progress_done = ?, progress_total = ?
    WHERE id = ? AND attempt = ? AND state = 'running'`,

  /** (expires_at, id, attempt) -> cancel_requested of a lease still held */
  extendLease: `UPDATE jobs SET lease_expires_at = ? WHERE id = ? AND attempt = ? AND state = 'running'
    RETURNING cancel_requested`,

  /** (now, limit) -> running jobs whose lease has expired */
  expiredLeases: `SELECT id, attempt, attempt_base, max_attempts, backoff_ms, backoff_factor, backoff_max_ms,
      backoff_jitter, worker_id, cancel_requested, queue, flow_id, flow_step, flow_role FROM jobs
    WHERE state = 'running' AND lease_expires_at < ? ORDER BY lease_expires_at LIMIT ?`,

  /** (id) */
  getJob: 'SELECT * FROM jobs WHERE id = ?',

  /** (id) */
  jobEvents: 'SELECT * FROM job_events WHERE job_id = ? ORDER BY id',

  /** (id, after_id, limit) */
  jobLogs: 'SELECT * FROM job_logs WHERE job_id = ? AND id > ? ORDER BY id LIMIT ?',

  /** (flow_id, after_id, limit) */
  flowLogs: `SELECT l.*, j.flow_step, j.flow_role FROM jobs j JOIN job_logs l ON l.job_id = j.id
    WHERE j.flow_id = ? AND l.id > ? ORDER BY l.id LIMIT ?`,

  /** (error_json, now, id) */
  cancelPending: `UPDATE jobs SET state = 'cancelled', error = ?, finished_at = ? WHERE id = ? AND state = 'pending'`,

  /** (id) */
  requestCancel: `UPDATE jobs SET cancel_requested = 1 WHERE id = ? AND state = 'running'`,

  /** (now, id) */
  retryFinished: `UPDATE jobs SET state = 'pending', run_at = ?, attempt_base = attempt, finished_at = NULL,
      started_at = NULL, output = NULL, error = NULL, cancel_requested = 0, progress_done = NULL,
      progress_total = NULL, worker_id = NULL
    WHERE id = ? AND state IN ('failed', 'cancelled')`,

  /** (before, limit) -> finished jobs older than `before` */
  /**
   * (before, limit) -> finished jobs older than `before`, never the newest job: SQLite gives a new
   * row max(rowid) + 1, so keeping the newest row is what stops an old id from naming a new job
   * (cheaper than AUTOINCREMENT, which costs a second B-tree write on every insert).
   */
  finishedBefore: `SELECT id FROM jobs WHERE state IN ('succeeded', 'failed', 'cancelled') AND finished_at < ?
      AND id < (SELECT max(id) FROM jobs) AND flow_id IS NULL
    ORDER BY finished_at LIMIT ?`,
  /** (before, limit) -> finished flows older than `before`, never the newest flow (ids are not reused) */
  flowsFinishedBefore: `SELECT id FROM flows WHERE finished_at < ? AND id < (SELECT max(id) FROM flows)
      AND NOT EXISTS (SELECT 1 FROM jobs WHERE flow_id = flows.id AND id = (SELECT max(id) FROM jobs))
    ORDER BY finished_at LIMIT ?`,
  /** (flow_ids_json) */
  jobsOfFlows: 'SELECT id FROM jobs WHERE flow_id IN (SELECT value FROM json_each(?))',
  /** (flow_ids_json) */
  deleteFlowEdges: 'DELETE FROM flow_edges WHERE flow_id IN (SELECT value FROM json_each(?))',
  /** (flow_ids_json) */
  deleteFlowSteps: 'DELETE FROM flow_steps WHERE flow_id IN (SELECT value FROM json_each(?))',
  /** (flow_ids_json) */
  deleteFlows: 'DELETE FROM flows WHERE id IN (SELECT value FROM json_each(?))',
  /** (ids_json) */
  deleteEvents: 'DELETE FROM job_events WHERE job_id IN (SELECT value FROM json_each(?))',
  /** (ids_json) */
  deleteLogs: 'DELETE FROM job_logs WHERE job_id IN (SELECT value FROM json_each(?))',
  /** (ids_json) */
  deleteDedup: 'DELETE FROM dedup_keys WHERE job_id IN (SELECT value FROM json_each(?))',
  /** (ids_json) */
  deleteJobs: 'DELETE FROM jobs WHERE id IN (SELECT value FROM json_each(?))',

  /**
   * (name, queue, priority, max_attempts, backoff_ms, backoff_factor, backoff_max_ms, backoff_jitter, timeout_ms, now,
   *  revertible, placement, concurrency, input_schema, description)
   */
  registerTask: `INSERT INTO tasks (name, queue, priority, max_attempts, backoff_ms, backoff_factor, backoff_max_ms,
      backoff_jitter, timeout_ms, updated_at, revertible, placement, concurrency, input_schema, description)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (name) DO UPDATE SET queue = excluded.queue, priority = excluded.priority,
      max_attempts = excluded.max_attempts, backoff_ms = excluded.backoff_ms, backoff_factor = excluded.backoff_factor,
      backoff_max_ms = excluded.backoff_max_ms, backoff_jitter = excluded.backoff_jitter,
      timeout_ms = excluded.timeout_ms, updated_at = excluded.updated_at, revertible = excluded.revertible,
      placement = excluded.placement, concurrency = excluded.concurrency, input_schema = excluded.input_schema,
      description = excluded.description`,
  /** (name) */
  getTask: 'SELECT * FROM tasks WHERE name = ?',

  /** (name, holder, expires_at, now) -> term, when taken or renewed */
  acquireLease: `INSERT INTO leases (name, holder, term, expires_at) VALUES (?, ?, 1, ?)
    ON CONFLICT (name) DO UPDATE SET
      term = CASE WHEN leases.holder = excluded.holder THEN leases.term ELSE leases.term + 1 END,
      holder = excluded.holder, expires_at = excluded.expires_at
    WHERE leases.holder = excluded.holder OR leases.expires_at <= ?
    RETURNING term`,
  /** (name, holder) */
  releaseLease: 'UPDATE leases SET expires_at = 0 WHERE name = ? AND holder = ?',
} as const;

export type Statements = { readonly [K in keyof typeof SQL]: Database.Statement };

export function prepareStatements(db: Database.Database): Statements {
  return Object.fromEntries(Object.entries(SQL).map(([name, sql]) => [name, db.prepare(sql)])) as Statements;
}
