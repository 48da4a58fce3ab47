import type Database from 'better-sqlite3';

/**
 * The SQLite statements of placement: claims of placed jobs, rate windows, admission limits, the
 * worker registry. Prepared once per connection; values are always bound parameters.
 */
const SQL = {
  /**
   * (queue, now, tasks_json, limit) -> pending placed jobs of one queue in claim order (the
   * jobs_placed index), with what they need; jobs of a concurrency key at its limit are passed
   * over here, so a long line of one saturated key cannot hide the jobs behind it
   */
  placedCandidates: `SELECT id, priority, run_at, placement, concurrency_key, concurrency_limit FROM jobs c
    WHERE state = 'pending' AND (placement IS NOT NULL OR concurrency_key IS NOT NULL) AND queue = ? AND run_at <= ?
      AND task IN (SELECT value FROM json_each(?))
      AND (concurrency_key IS NULL OR concurrency_limit > (SELECT count(*) FROM jobs r
        WHERE r.state = 'running' AND r.concurrency_key = c.concurrency_key))
    ORDER BY priority DESC, run_at, id LIMIT ?`,
  /** (key) -> running jobs of a concurrency key */
  runningOfKey: `SELECT count(*) FROM jobs WHERE state = 'running' AND concurrency_key = ?`,

  /** (queues_json) -> the rate-limited queues among them, with their windows */
  rateLimited: `SELECT name, rate_limit, rate_period_ms, window_start, window_count FROM queues
    WHERE rate_limit IS NOT NULL AND name IN (SELECT value FROM json_each(?))`,
  /** (window_start, window_count, name) */
  setWindow: 'UPDATE queues SET window_start = ?, window_count = ? WHERE name = ?',

  /** (name) -> the queue's admission limit, when it has one */
  admission: 'SELECT max_pending, shed_policy FROM queues WHERE name = ? AND max_pending IS NOT NULL',
  /** ({ queue, cap }) -> pending jobs of the queue, counted up to cap (both claim indexes) */
  pendingCount: `SELECT
      (SELECT count(*) FROM (SELECT 1 FROM jobs WHERE state = 'pending' AND placement IS NULL
         AND concurrency_key IS NULL AND queue = @queue LIMIT @cap))
    + (SELECT count(*) FROM (SELECT 1 FROM jobs WHERE state = 'pending'
         AND (placement IS NOT NULL OR concurrency_key IS NOT NULL) AND queue = @queue LIMIT @cap))`,
  /** (queue) -> the pending job outside flows to shed first: lowest priority, then latest due, newest */
  lowestPending: `SELECT id, priority FROM jobs WHERE state = 'pending' AND queue = ? AND flow_id IS NULL
    ORDER BY priority, run_at DESC, id DESC LIMIT 1`,
  /** (name) */
  getQueue: `SELECT name, max_pending, shed_policy, rate_limit, rate_period_ms, window_start, window_count
    FROM queues WHERE name = ?`,
  /** (name, max_pending, shed_policy, rate_limit, rate_period_ms, updated_at) */
  upsertQueue: `INSERT INTO queues (name, max_pending, shed_policy, rate_limit, rate_period_ms, updated_at)
    VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (name) DO UPDATE SET max_pending = excluded.max_pending, shed_policy = excluded.shed_policy,
      rate_limit = excluded.rate_limit, rate_period_ms = excluded.rate_period_ms, updated_at = excluded.updated_at`,
  allQueues: `SELECT name, max_pending, shed_policy, rate_limit, rate_period_ms, window_start, window_count FROM queues`,
  /** ({ now, since }) -> per queue and state: jobs, due pending jobs, jobs finished since */
  queueCounts: `SELECT queue, state, count(*) AS n, sum(state = 'pending' AND run_at <= @now) AS due,
      sum(state IN ('succeeded', 'failed') AND finished_at >= @since) AS recent
    FROM jobs GROUP BY queue, state`,

  /**
   * ({ id, host, pid, version, queues, tasks, labels, capacity, in_use, concurrency, running,
   *  heartbeat_ms, now }) -> announces a worker or renews its heartbeat
   */
  heartbeat: `INSERT INTO workers (id, host, pid, version, queues, tasks, labels, capacity, in_use, concurrency,
      running, heartbeat_ms, state, started_at, heartbeat_at)
    VALUES (@id, @host, @pid, @version, @queues, @tasks, @labels, @capacity, @in_use, @concurrency, @running,
      @heartbeat_ms, 'active', @now, @now)
    ON CONFLICT (id) DO UPDATE SET queues = excluded.queues, tasks = excluded.tasks, labels = excluded.labels,
      capacity = excluded.capacity, in_use = excluded.in_use, concurrency = excluded.concurrency,
      running = excluded.running, heartbeat_ms = excluded.heartbeat_ms, state = 'active',
      heartbeat_at = excluded.heartbeat_at, stopped_at = NULL`,
  /** (now, id) */
  stopWorker: `UPDATE workers SET state = 'stopped', stopped_at = ?, running = 0, in_use = '{}' WHERE id = ?`,
  listWorkers: `SELECT * FROM workers ORDER BY state <> 'active', id`,
  /** (state) */
  listWorkersIn: 'SELECT * FROM workers WHERE state = ? ORDER BY id',
  /** ({ now }) -> marks silent active workers gone: three heartbeats missed, and 5 s more */
  markGone: `UPDATE workers SET state = 'gone', stopped_at = @now
    WHERE state = 'active' AND heartbeat_at < @now - 3 * heartbeat_ms - 5000`,
  /** (before) -> forgets stopped and gone workers last heard of before */
  forgetWorkers: `DELETE FROM workers WHERE state <> 'active' AND heartbeat_at < ?`,
  /** -> each kind of placement waiting, per queue, and whether it is marked unplaceable now */
  pendingPlacements: `SELECT queue, placement, unplaceable FROM jobs
    WHERE state = 'pending' AND placement IS NOT NULL GROUP BY queue, placement, unplaceable`,
  /** ({ reason, queue, placement }) -> sets or clears unplaceable on the pending jobs of one placement */
  setUnplaceable: `UPDATE jobs SET unplaceable = @reason
    WHERE state = 'pending' AND placement IS NOT NULL AND queue = @queue AND placement = @placement
      AND unplaceable IS NOT @reason`,
} as const;

export type PlacementStatements = { [K in keyof typeof SQL]: Database.Statement };

export function preparePlacementStatements(db: Database.Database): PlacementStatements {
  const out: Record<string, Database.Statement> = {};
  for (const [key, sql] of Object.entries(SQL)) out[key] = db.prepare(sql);
  return out as PlacementStatements;
}
