-- stint schema, version 3 (SQLite): schedules, their runs and events, dataset partitions, backfills.
-- A schedule fires runs; each run is a job or a flow, recorded in schedule_runs under a key unique per
-- schedule (the exactly-once guarantee). Runs do not reference jobs or flows by foreign key:
-- retention deletes those, and the run row stays as the record that the key was used.

CREATE TABLE schedules (
  id           INTEGER PRIMARY KEY,
  name         TEXT    NOT NULL UNIQUE,
  description  TEXT,
  target       TEXT    NOT NULL, -- JSON ScheduleTarget
  trigger      TEXT    NOT NULL, -- JSON Trigger
  trigger_type TEXT    NOT NULL,
  policies     TEXT    NOT NULL, -- JSON SchedulePolicies
  state        TEXT    NOT NULL CHECK (state IN ('active', 'paused', 'completed')),
  next_fire_at INTEGER,
  wake_at      INTEGER,          -- when the coordinator looks at it next
  fire_count   INTEGER NOT NULL DEFAULT 0,
  last_fire_at INTEGER,
  runtime      TEXT    NOT NULL DEFAULT '{}', -- JSON, trigger-specific state between fires
  metadata     TEXT,
  version      INTEGER NOT NULL DEFAULT 1,    -- fences fires
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
);
-- The coordinator's "what is due" and "when next": only active schedules that want a look.
CREATE INDEX schedules_wake ON schedules (wake_at, id) WHERE state = 'active' AND wake_at IS NOT NULL;

-- The datasets a datasets-triggered schedule watches, so marking a partition finds its schedules.
CREATE TABLE schedule_datasets (
  dataset     TEXT    NOT NULL,
  schedule_id INTEGER NOT NULL,
  PRIMARY KEY (dataset, schedule_id)
) WITHOUT ROWID;
CREATE INDEX schedule_datasets_schedule ON schedule_datasets (schedule_id);

CREATE TABLE schedule_events (
  id          INTEGER PRIMARY KEY AUTOINCREMENT, -- ids are a reading cursor: never reused
  schedule_id INTEGER NOT NULL,
  at          INTEGER NOT NULL,
  type        TEXT    NOT NULL,
  data        TEXT
);
CREATE INDEX schedule_events_schedule ON schedule_events (schedule_id, id);

CREATE TABLE schedule_runs (
  id          INTEGER PRIMARY KEY,
  schedule_id INTEGER NOT NULL,
  key         TEXT    NOT NULL, -- t:<fire time> | p:<partition> | n:<id> | c:<n>
  kind        TEXT    NOT NULL,
  fire_time   INTEGER,
  partition   TEXT,
  backfill_id INTEGER,
  job_id      INTEGER,
  flow_id     INTEGER,
  created_at  INTEGER NOT NULL,
  -- 1 until a reader sees the run's job or flow finished (or deleted): keeps "active runs of a
  -- schedule" to the few open rows instead of the schedule's whole history.
  open        INTEGER NOT NULL DEFAULT 1,
  UNIQUE (schedule_id, key)
);
CREATE INDEX schedule_runs_list ON schedule_runs (schedule_id, created_at, id);
CREATE INDEX schedule_runs_open ON schedule_runs (schedule_id, created_at, id) WHERE open = 1;
CREATE INDEX schedule_runs_backfill ON schedule_runs (backfill_id, created_at, id) WHERE backfill_id IS NOT NULL;
CREATE INDEX schedule_runs_partition ON schedule_runs (partition, schedule_id) WHERE partition IS NOT NULL;

CREATE TABLE dataset_partitions (
  dataset   TEXT    NOT NULL,
  partition TEXT    NOT NULL,
  metadata  TEXT,
  marked_at INTEGER NOT NULL,
  PRIMARY KEY (dataset, partition)
) WITHOUT ROWID;
-- Newest marks first, per dataset (listing, and "completed since" for readiness).
CREATE INDEX dataset_partitions_marked ON dataset_partitions (dataset, marked_at, partition);

CREATE TABLE backfills (
  id          INTEGER PRIMARY KEY,
  schedule_id INTEGER NOT NULL,
  state       TEXT    NOT NULL CHECK (state IN ('running', 'finished', 'cancelled')),
  from_ms     INTEGER,
  to_ms       INTEGER,
  partitions  TEXT,             -- JSON list, for dataset triggers
  concurrency INTEGER NOT NULL,
  total       INTEGER NOT NULL,
  cursor      TEXT,
  created     INTEGER NOT NULL DEFAULT 0,
  skipped     INTEGER NOT NULL DEFAULT 0,
  created_at  INTEGER NOT NULL,
  finished_at INTEGER
);
CREATE INDEX backfills_schedule ON backfills (schedule_id, id);
