-- stint schema, version 1 (PostgreSQL). {{schema}} is replaced by the quoted schema name.
-- Times are bigint milliseconds since the epoch, judged by the database's clock.

CREATE TABLE {{schema}}.jobs (
  id               bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  task             text    NOT NULL,
  queue            text    NOT NULL,
  state            text    NOT NULL CHECK (state IN ('pending', 'running', 'succeeded', 'failed', 'cancelled')),
  input            json    NOT NULL,
  output           json,
  error            json,
  priority         integer NOT NULL DEFAULT 0,
  run_at           bigint  NOT NULL,
  created_at       bigint  NOT NULL,
  started_at       bigint,
  finished_at      bigint,
  attempt          integer NOT NULL DEFAULT 0,
  attempt_base     integer NOT NULL DEFAULT 0,
  max_attempts     integer NOT NULL,
  backoff_ms       bigint  NOT NULL,
  backoff_factor   double precision NOT NULL,
  backoff_max_ms   bigint  NOT NULL,
  backoff_jitter   double precision NOT NULL,
  timeout_ms       bigint,
  worker_id        text,
  lease_expires_at bigint,
  cancel_requested boolean NOT NULL DEFAULT false,
  progress_done    double precision,
  progress_total   double precision,
  metadata         jsonb,
  dedup_key        text
);

-- Claim order among due jobs of a queue: priority, then run_at, then insertion.
CREATE INDEX jobs_claim ON {{schema}}.jobs (queue, priority DESC, run_at, id) WHERE state = 'pending';
-- The lease-expiry sweep reads only running rows.
CREATE INDEX jobs_lease ON {{schema}}.jobs (lease_expires_at) WHERE state = 'running';
-- Retention deletes finished rows by age.
CREATE INDEX jobs_finished ON {{schema}}.jobs (finished_at) WHERE state IN ('succeeded', 'failed', 'cancelled');
-- Most rows are finished; statistics on state would only mislead the planner about the claim.
ALTER TABLE {{schema}}.jobs ALTER COLUMN state SET STATISTICS 0;

CREATE TABLE {{schema}}.job_events (
  id        bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job_id    bigint  NOT NULL,
  at        bigint  NOT NULL,
  type      text    NOT NULL,
  attempt   integer,
  worker_id text,
  detail    json
);
CREATE INDEX job_events_job ON {{schema}}.job_events (job_id, id);

CREATE TABLE {{schema}}.job_logs (
  id      bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job_id  bigint  NOT NULL,
  attempt integer NOT NULL,
  at      bigint  NOT NULL,
  level   text    NOT NULL,
  message text    NOT NULL,
  fields  json
);
CREATE INDEX job_logs_job ON {{schema}}.job_logs (job_id, id);

-- A dedup key belongs to one job until expires_at (or, when null, until that job finishes).
CREATE TABLE {{schema}}.dedup_keys (
  key        text   PRIMARY KEY,
  job_id     bigint NOT NULL,
  expires_at bigint
);

-- Named leases for duties that must run in one process at a time (the coordinator).
CREATE TABLE {{schema}}.leases (
  name       text    PRIMARY KEY,
  holder     text    NOT NULL,
  term       integer NOT NULL,
  expires_at bigint  NOT NULL
);

-- What workers run: each task's defaults, for submitters without the task's code.
CREATE TABLE {{schema}}.tasks (
  name           text    PRIMARY KEY,
  queue          text    NOT NULL,
  priority       integer NOT NULL,
  max_attempts   integer NOT NULL,
  backoff_ms     bigint  NOT NULL,
  backoff_factor double precision NOT NULL,
  backoff_max_ms bigint  NOT NULL,
  backoff_jitter double precision NOT NULL,
  timeout_ms     bigint,
  updated_at     bigint  NOT NULL
);

-- One NOTIFY per insert statement, naming the queues that got jobs: idle workers wake at once.
CREATE FUNCTION {{schema}}.notify_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify(TG_TABLE_SCHEMA || '.jobs', 'a:' || coalesce((SELECT string_agg(DISTINCT queue, ',') FROM inserted), ''));
  RETURN NULL;
END
$$;
CREATE TRIGGER jobs_inserted AFTER INSERT ON {{schema}}.jobs
  REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.notify_inserted();
