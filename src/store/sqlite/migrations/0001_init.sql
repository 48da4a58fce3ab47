-- stint schema, version 1 (SQLite). Times are integer milliseconds since the epoch.

CREATE TABLE jobs (
  id               INTEGER PRIMARY KEY, -- never reused: retention always keeps the newest row
  task             TEXT    NOT NULL,
  queue            TEXT    NOT NULL,
  state            TEXT    NOT NULL CHECK (state IN ('pending', 'running', 'succeeded', 'failed', 'cancelled')),
  input            TEXT    NOT NULL,
  output           TEXT,
  error            TEXT,
  priority         INTEGER NOT NULL DEFAULT 0,
  run_at           INTEGER NOT NULL,
  created_at       INTEGER NOT NULL,
  started_at       INTEGER,
  finished_at      INTEGER,
  attempt          INTEGER NOT NULL DEFAULT 0,
  attempt_base     INTEGER NOT NULL DEFAULT 0,
  max_attempts     INTEGER NOT NULL,
  backoff_ms       INTEGER NOT NULL,
  backoff_factor   REAL    NOT NULL,
  backoff_max_ms   INTEGER NOT NULL,
  backoff_jitter   REAL    NOT NULL,
  timeout_ms       INTEGER,
  worker_id        TEXT,
  lease_expires_at INTEGER,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  progress_done    REAL,
  progress_total   REAL,
  metadata         TEXT,
  dedup_key        TEXT
);

-- Claim order among due jobs of a queue: priority, then run_at, then insertion.
CREATE INDEX jobs_claim ON jobs (queue, priority DESC, run_at, id) WHERE state = 'pending';
-- The lease-expiry sweep reads only running rows.
CREATE INDEX jobs_lease ON jobs (lease_expires_at) WHERE state = 'running';
-- Retention deletes finished rows by age.
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE state IN ('succeeded', 'failed', 'cancelled');

CREATE TABLE job_events (
  id        INTEGER PRIMARY KEY,
  job_id    INTEGER NOT NULL,
  at        INTEGER NOT NULL,
  type      TEXT    NOT NULL,
  attempt   INTEGER,
  worker_id TEXT,
  detail    TEXT
);
CREATE INDEX job_events_job ON job_events (job_id, id);

CREATE TABLE job_logs (
  id      INTEGER PRIMARY KEY,
  job_id  INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  at      INTEGER NOT NULL,
  level   TEXT    NOT NULL,
  message TEXT    NOT NULL,
  fields  TEXT
);
CREATE INDEX job_logs_job ON job_logs (job_id, id);

-- A dedup key belongs to one job until expires_at (or, when null, until that job finishes).
CREATE TABLE dedup_keys (
  key        TEXT    PRIMARY KEY,
  job_id     INTEGER NOT NULL,
  expires_at INTEGER
) WITHOUT ROWID;

-- Named leases for duties that must run in one process at a time (the coordinator).
CREATE TABLE leases (
  name       TEXT    PRIMARY KEY,
  holder     TEXT    NOT NULL,
  term       INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;

-- What workers run: each task's defaults, so a process without the task's code (the CLI, later the
-- HTTP API) submits by name with the right queue, priority, retry policy and timeout.
CREATE TABLE tasks (
  name           TEXT    PRIMARY KEY,
  queue          TEXT    NOT NULL,
  priority       INTEGER NOT NULL,
  max_attempts   INTEGER NOT NULL,
  backoff_ms     INTEGER NOT NULL,
  backoff_factor REAL    NOT NULL,
  backoff_max_ms INTEGER NOT NULL,
  backoff_jitter REAL    NOT NULL,
  timeout_ms     INTEGER,
  updated_at     INTEGER NOT NULL
) WITHOUT ROWID;
