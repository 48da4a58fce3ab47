-- stint schema, version 2 (PostgreSQL): flows. A flow is a row in flows, its steps rows in flow_steps,
-- and "B needs A" a row in flow_edges. Each step runs as a job that names its flow and step.
-- {{schema}} is replaced by the quoted schema name.

ALTER TABLE {{schema}}.jobs
  ADD COLUMN flow_id   bigint,
  ADD COLUMN flow_step text,
  -- 'run' or 'revert' (the task's revert of a completed step).
  ADD COLUMN flow_role text CHECK (flow_role IN ('run', 'revert'));
CREATE INDEX jobs_flow ON {{schema}}.jobs (flow_id, state) WHERE flow_id IS NOT NULL;

-- Whether the task defines a revert (a flow submitted by name needs to know).
ALTER TABLE {{schema}}.tasks ADD COLUMN revertible boolean NOT NULL DEFAULT false;

CREATE TABLE {{schema}}.flows (
  id               bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name             text    NOT NULL,
  state            text    NOT NULL CHECK (state IN ('running', 'reverting', 'succeeded', 'failed', 'revert_failed', 'cancelled')),
  on_failure       text    NOT NULL,
  spec             json    NOT NULL,
  store            json,
  output           json,
  error            json,
  failed_step      text,
  open_steps       integer NOT NULL, -- top-level steps not finished
  active_jobs      integer NOT NULL DEFAULT 0, -- run jobs not finished
  seq              integer NOT NULL DEFAULT 0, -- completion counter (revert order)
  failures         integer NOT NULL DEFAULT 0,
  revert_failures  integer NOT NULL DEFAULT 0,
  reverting_step   text,
  cancel_reason    text,
  created_at       bigint  NOT NULL,
  finished_at      bigint,
  metadata         jsonb,
  dedup_key        text
);
CREATE INDEX flows_dedup ON {{schema}}.flows (dedup_key, id) WHERE dedup_key IS NOT NULL;
CREATE INDEX flows_finished ON {{schema}}.flows (finished_at) WHERE finished_at IS NOT NULL;

CREATE TABLE {{schema}}.flow_steps (
  flow_id       bigint  NOT NULL,
  name          text    NOT NULL,
  -- Insertion order, for showing steps as they were given.
  pos           bigint  GENERATED ALWAYS AS IDENTITY,
  task          text    NOT NULL,
  kind          text    NOT NULL, -- task | map | item
  parent        text,             -- an item's map step
  idx           integer,          -- an item's place in the list
  state         text    NOT NULL,
  waiting_on    integer NOT NULL, -- unfinished steps this one needs
  deps          json    NOT NULL, -- the steps it needs
  input         json,             -- with {"$ref": ...} values until resolved
  map           json,             -- {over, concurrency} of a map step
  on_failure    text,
  revertible    boolean NOT NULL,
  job           json    NOT NULL, -- job template: queue, priority, retry, timeoutMs
  job_id        bigint,
  revert_job_id bigint,
  output        json,
  error         json,
  revert_error  json,
  completed_seq integer,
  map_total     integer,
  map_done      integer,
  PRIMARY KEY (flow_id, name)
);
-- A map's waiting items, in order (the next ones to start when a slot frees).
CREATE INDEX flow_steps_items ON {{schema}}.flow_steps (flow_id, parent, idx) WHERE parent IS NOT NULL;
-- Only the waiting items: the next to start when a slot frees, without walking past finished ones.
CREATE INDEX flow_steps_waiting ON {{schema}}.flow_steps (flow_id, parent, idx) WHERE state = 'waiting';
-- Reverts run newest completion first.
CREATE INDEX flow_steps_done ON {{schema}}.flow_steps (flow_id, completed_seq) WHERE completed_seq IS NOT NULL;

CREATE TABLE {{schema}}.flow_edges (
  flow_id   bigint NOT NULL,
  from_step text   NOT NULL, -- needed
  to_step   text   NOT NULL, -- waits for from_step
  PRIMARY KEY (flow_id, from_step, to_step)
);
