-- stint schema, version 3 (PostgreSQL): schedules, their runs, datasets and backfills.
-- {{schema}} is replaced by the quoted schema name. Columns as in ../schedule-rows.ts.

CREATE TABLE {{schema}}.schedules (
  id           bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name         text    COLLATE "C" NOT NULL UNIQUE, -- byte order, as SQLite sorts
  description  text,
  target       json    NOT NULL, -- a job template or a flow
  trigger      json    NOT NULL,
  trigger_type text    NOT NULL,
  policies     json    NOT NULL,
  state        text    NOT NULL CHECK (state IN ('active', 'paused', 'completed')),
  next_fire_at bigint,
  wake_at      bigint,
  fire_count   bigint  NOT NULL DEFAULT 0,
  last_fire_at bigint,
  runtime      json    NOT NULL DEFAULT '{}',
  metadata     jsonb,
  -- Grows with every change: fires are fenced by it.
  version      integer NOT NULL DEFAULT 1,
  created_at   bigint  NOT NULL,
  updated_at   bigint  NOT NULL
);
-- What the coordinator looks at next: active schedules by wake time.
CREATE INDEX schedules_wake ON {{schema}}.schedules (wake_at, id) WHERE state = 'active' AND wake_at IS NOT NULL;

-- The datasets a schedule's trigger watches, so marking a partition finds the schedules to wake.
CREATE TABLE {{schema}}.schedule_datasets (
  schedule_id bigint NOT NULL,
  dataset     text   COLLATE "C" NOT NULL,
  PRIMARY KEY (dataset, schedule_id)
);
CREATE INDEX schedule_datasets_schedule ON {{schema}}.schedule_datasets (schedule_id);

CREATE TABLE {{schema}}.schedule_events (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  schedule_id bigint NOT NULL,
  at          bigint NOT NULL,
  type        text   NOT NULL,
  data        json
);
CREATE INDEX schedule_events_schedule ON {{schema}}.schedule_events (schedule_id, id);

-- One row per run a schedule created; (schedule_id, key) unique is the exactly-once guarantee.
-- No foreign key to jobs or flows: retention deletes those, and the run row must stay.
CREATE TABLE {{schema}}.schedule_runs (
  id          bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  schedule_id bigint  NOT NULL,
  key         text    NOT NULL,
  kind        text    NOT NULL CHECK (kind IN ('fire', 'now', 'partition', 'backfill', 'continuous')),
  fire_time   bigint,
  partition   text    COLLATE "C",
  backfill_id bigint,
  job_id      bigint,
  flow_id     bigint,
  created_at  bigint  NOT NULL,
  -- True until a reader sees the run's job or flow finished (or gone): active runs stay cheap to find.
  open        boolean NOT NULL DEFAULT true,
  UNIQUE (schedule_id, key)
);
CREATE INDEX schedule_runs_open ON {{schema}}.schedule_runs (schedule_id) WHERE open;
CREATE INDEX schedule_runs_backfill ON {{schema}}.schedule_runs (backfill_id, created_at, id) WHERE backfill_id IS NOT NULL;
CREATE INDEX schedule_runs_partition ON {{schema}}.schedule_runs (partition, schedule_id) WHERE partition IS NOT NULL;
CREATE INDEX schedule_runs_list ON {{schema}}.schedule_runs (schedule_id, created_at, id);

CREATE TABLE {{schema}}.dataset_partitions (
  -- Byte order, as SQLite compares: partitions are compared as strings (ranges, listing).
  dataset   text   COLLATE "C" NOT NULL,
  partition text   COLLATE "C" NOT NULL,
  metadata  json,
  marked_at bigint NOT NULL,
  PRIMARY KEY (dataset, partition)
);
CREATE INDEX dataset_partitions_marked ON {{schema}}.dataset_partitions (dataset, marked_at, partition);

CREATE TABLE {{schema}}.backfills (
  id          bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  schedule_id bigint  NOT NULL,
  state       text    NOT NULL CHECK (state IN ('running', 'finished', 'cancelled')),
  from_ms     bigint,
  to_ms       bigint,
  partitions  json,
  concurrency integer NOT NULL,
  total       integer NOT NULL,
  cursor      text,
  created     integer NOT NULL DEFAULT 0,
  skipped     integer NOT NULL DEFAULT 0,
  created_at  bigint  NOT NULL,
  finished_at bigint
);
CREATE INDEX backfills_schedule ON {{schema}}.backfills (schedule_id, id);
