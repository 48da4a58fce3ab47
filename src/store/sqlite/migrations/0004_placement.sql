-- stint schema, version 4 (SQLite): placement (resources, labels, concurrency keys), the worker
-- registry, per-queue settings (admission limits, rate limits) and log streams.

-- What a job needs of its worker (JSON { resources?, labels? }); null for most jobs, which any
-- worker of their queue may run. A job with a concurrency key runs at most concurrency_limit at
-- once across the cluster. Jobs with either are "placed": claimed one by one against what a
-- worker has free, and kept out of the plain claim index so plain claims never scan past them.
ALTER TABLE jobs ADD COLUMN placement TEXT;
ALTER TABLE jobs ADD COLUMN concurrency_key TEXT;
ALTER TABLE jobs ADD COLUMN concurrency_limit INTEGER;
-- Why no live worker of the job's queue could ever run it (set and cleared by the coordinator).
ALTER TABLE jobs ADD COLUMN unplaceable TEXT;

DROP INDEX jobs_claim;
CREATE INDEX jobs_claim ON jobs (queue, priority DESC, run_at, id)
  WHERE state = 'pending' AND placement IS NULL AND concurrency_key IS NULL;
CREATE INDEX jobs_placed ON jobs (queue, priority DESC, run_at, id)
  WHERE state = 'pending' AND (placement IS NOT NULL OR concurrency_key IS NOT NULL);
-- Running jobs per concurrency key, counted at each claim of a keyed job.
CREATE INDEX jobs_running_key ON jobs (concurrency_key) WHERE state = 'running' AND concurrency_key IS NOT NULL;

-- A task's placement and fixed concurrency limit, for submitters without its code.
ALTER TABLE tasks ADD COLUMN placement TEXT;
ALTER TABLE tasks ADD COLUMN concurrency TEXT;

-- Log lines written for the job over all its attempts (stored ones stop at the store's cap).
ALTER TABLE jobs ADD COLUMN log_lines INTEGER NOT NULL DEFAULT 0;

-- Where a log line came from: `log` (ctx.log), `stdout` or `stderr` (process and shell sandboxes).
ALTER TABLE job_logs ADD COLUMN stream TEXT NOT NULL DEFAULT 'log';

-- A submission's change to its task's sandbox (JSON { kind?, memoryMb? }); null for most jobs.
ALTER TABLE jobs ADD COLUMN sandbox TEXT;

-- Workers announce themselves and heartbeat; the coordinator marks silent ones gone.
CREATE TABLE workers (
  id            TEXT    PRIMARY KEY,
  host          TEXT    NOT NULL,
  pid           INTEGER NOT NULL,
  version       TEXT    NOT NULL,
  queues        TEXT    NOT NULL, -- JSON string[]
  tasks         TEXT    NOT NULL, -- JSON string[]
  labels        TEXT    NOT NULL, -- JSON Record<string, string>
  capacity      TEXT    NOT NULL, -- JSON Record<string, number>
  in_use        TEXT    NOT NULL, -- JSON Record<string, number>
  concurrency   INTEGER NOT NULL,
  running       INTEGER NOT NULL,
  heartbeat_ms  INTEGER NOT NULL,
  state         TEXT    NOT NULL CHECK (state IN ('active', 'stopped', 'gone')),
  started_at    INTEGER NOT NULL,
  heartbeat_at  INTEGER NOT NULL,
  stopped_at    INTEGER
) WITHOUT ROWID;
CREATE INDEX workers_active ON workers (heartbeat_at) WHERE state = 'active';

-- Per-queue settings. A queue without a row has no limits.
CREATE TABLE queues (
  name           TEXT    PRIMARY KEY,
  max_pending    INTEGER,          -- admission limit on pending jobs
  shed_policy    TEXT    NOT NULL DEFAULT 'reject' CHECK (shed_policy IN ('reject', 'drop_lowest_priority')),
  rate_limit     INTEGER,          -- at most this many starts ...
  rate_period_ms INTEGER,          -- ... per period (a fixed window)
  window_start   INTEGER NOT NULL DEFAULT 0,
  window_count   INTEGER NOT NULL DEFAULT 0,
  updated_at     INTEGER NOT NULL
) WITHOUT ROWID;
