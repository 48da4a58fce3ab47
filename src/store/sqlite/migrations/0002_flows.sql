-- stint schema, version 2 (SQLite): flows. A flow is a row in flows, its steps rows in flow_steps,
-- and "B needs A" a row in flow_edges. Each step runs as a job that names its flow and step.

ALTER TABLE jobs ADD COLUMN flow_id INTEGER;
ALTER TABLE jobs ADD COLUMN flow_step TEXT;
-- 'run' or 'revert' (the task's revert of a completed step).
ALTER TABLE jobs ADD COLUMN flow_role TEXT;
CREATE INDEX jobs_flow ON jobs (flow_id, state) WHERE flow_id IS NOT NULL;

-- Whether the task defines a revert (a flow submitted by name needs to know).
ALTER TABLE tasks ADD COLUMN revertible INTEGER NOT NULL DEFAULT 0;

CREATE TABLE flows (
  id               INTEGER PRIMARY KEY,
  name             TEXT    NOT NULL,
  state            TEXT    NOT NULL CHECK (state IN ('running', 'reverting', 'succeeded', 'failed', 'revert_failed', 'cancelled')),
  on_failure       TEXT    NOT NULL,
  spec             TEXT    NOT NULL,
  store            TEXT,
  output           TEXT,
  error            TEXT,
  failed_step      TEXT,
  open_steps       INTEGER NOT NULL, -- top-level steps not finished
  active_jobs      INTEGER NOT NULL DEFAULT 0, -- run jobs not finished
  seq              INTEGER NOT NULL DEFAULT 0, -- completion counter (revert order)
  failures         INTEGER NOT NULL DEFAULT 0,
  revert_failures  INTEGER NOT NULL DEFAULT 0,
  reverting_step   TEXT,
  cancel_reason    TEXT,
  created_at       INTEGER NOT NULL,
  finished_at      INTEGER,
  metadata         TEXT,
  dedup_key        TEXT
);
CREATE INDEX flows_dedup ON flows (dedup_key, id) WHERE dedup_key IS NOT NULL;
CREATE INDEX flows_finished ON flows (finished_at) WHERE finished_at IS NOT NULL;

CREATE TABLE flow_steps (
  flow_id       INTEGER NOT NULL,
  name          TEXT    NOT NULL,
  task          TEXT    NOT NULL,
  kind          TEXT    NOT NULL, -- task | map | item
  parent        TEXT,             -- an item's map step
  idx           INTEGER,          -- an item's place in the list
  state         TEXT    NOT NULL,
  waiting_on    INTEGER NOT NULL, -- unfinished steps this one needs
  deps          TEXT    NOT NULL, -- JSON list of the steps it needs
  input         TEXT,             -- JSON, with {"$ref": ...} values until resolved
  map           TEXT,             -- JSON {over, concurrency} of a map step
  on_failure    TEXT,
  revertible    INTEGER NOT NULL,
  job           TEXT    NOT NULL, -- JSON job template: queue, priority, retry, timeoutMs
  job_id        INTEGER,
  revert_job_id INTEGER,
  output        TEXT,
  error         TEXT,
  revert_error  TEXT,
  completed_seq INTEGER,
  map_total     INTEGER,
  map_done      INTEGER,
  PRIMARY KEY (flow_id, name)
); -- a rowid table: the rowid keeps insertion order, for showing steps as they were given
-- A map's items in order (its output), and its waiting ones (the next to start when a slot frees:
-- an index of only the waiting rows keeps that lookup from walking past the finished ones).
CREATE INDEX flow_steps_items ON flow_steps (flow_id, parent, idx) WHERE parent IS NOT NULL;
CREATE INDEX flow_steps_waiting ON flow_steps (flow_id, parent, idx) WHERE state = 'waiting';
-- Reverts run newest completion first.
CREATE INDEX flow_steps_done ON flow_steps (flow_id, completed_seq) WHERE completed_seq IS NOT NULL;

CREATE TABLE flow_edges (
  flow_id   INTEGER NOT NULL,
  from_step TEXT    NOT NULL, -- needed
  to_step   TEXT    NOT NULL, -- waits for from_step
  PRIMARY KEY (flow_id, from_step, to_step)
) WITHOUT ROWID;
