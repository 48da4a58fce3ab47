-- stint schema, version 4 (PostgreSQL): placement (resources, labels, concurrency keys), the worker
-- registry, per-queue settings (admission limits, rate limits) and log streams.

-- What a job needs of its worker ({ resources?, labels? }); null for most jobs, which any worker of
-- their queue may run. A job with a concurrency key runs at most concurrency_limit at once across
-- the cluster. Jobs with either are "placed": claimed in a transaction against what a worker has
-- free, and kept out of the plain claim index so plain claims never scan past them.
ALTER TABLE {{schema}}.jobs
  ADD COLUMN placement jsonb,
  ADD COLUMN concurrency_key text,
  ADD COLUMN concurrency_limit integer,
  -- Why no live worker of the job's queue could ever run it (set and cleared by the coordinator).
  ADD COLUMN unplaceable text;

DROP INDEX {{schema}}.jobs_claim;
CREATE INDEX jobs_claim ON {{schema}}.jobs (queue, priority DESC, run_at, id)
  WHERE state = 'pending' AND placement IS NULL AND concurrency_key IS NULL;
CREATE INDEX jobs_placed ON {{schema}}.jobs (queue, priority DESC, run_at, id)
  WHERE state = 'pending' AND (placement IS NOT NULL OR concurrency_key IS NOT NULL);
-- Running jobs per concurrency key, counted at each claim of a keyed job.
CREATE INDEX jobs_running_key ON {{schema}}.jobs (concurrency_key)
  WHERE state = 'running' AND concurrency_key IS NOT NULL;

-- A task's placement and fixed concurrency limit, for submitters without its code.
ALTER TABLE {{schema}}.tasks ADD COLUMN placement jsonb;
ALTER TABLE {{schema}}.tasks ADD COLUMN concurrency jsonb;

-- Log lines written for the job over all its attempts (stored ones stop at the store's cap).
ALTER TABLE {{schema}}.jobs ADD COLUMN log_lines integer NOT NULL DEFAULT 0;

-- Where a log line came from: `log` (ctx.log), `stdout` or `stderr` (process and shell sandboxes).
ALTER TABLE {{schema}}.job_logs ADD COLUMN stream text NOT NULL DEFAULT 'log';

-- A submission's change to its task's sandbox ({ kind?, memoryMb? }); null for most jobs.
ALTER TABLE {{schema}}.jobs ADD COLUMN sandbox jsonb;

-- Workers announce themselves and heartbeat; the coordinator marks silent ones gone.
CREATE TABLE {{schema}}.workers (
  id            text    PRIMARY KEY,
  host          text    NOT NULL,
  pid           integer NOT NULL,
  version       text    NOT NULL,
  queues        jsonb   NOT NULL,
  tasks         jsonb   NOT NULL,
  labels        jsonb   NOT NULL,
  capacity      jsonb   NOT NULL,
  in_use        jsonb   NOT NULL,
  concurrency   integer NOT NULL,
  running       integer NOT NULL,
  heartbeat_ms  integer NOT NULL,
  state         text    NOT NULL CHECK (state IN ('active', 'stopped', 'gone')),
  started_at    bigint  NOT NULL,
  heartbeat_at  bigint  NOT NULL,
  stopped_at    bigint
);
CREATE INDEX workers_active ON {{schema}}.workers (heartbeat_at) WHERE state = 'active';

-- Per-queue settings. A queue without a row has no limits.
CREATE TABLE {{schema}}.queues (
  name           text    PRIMARY KEY,
  max_pending    integer,
  shed_policy    text    NOT NULL DEFAULT 'reject' CHECK (shed_policy IN ('reject', 'drop_lowest_priority')),
  rate_limit     integer,
  rate_period_ms bigint,
  window_start   bigint  NOT NULL DEFAULT 0,
  window_count   integer NOT NULL DEFAULT 0,
  updated_at     bigint  NOT NULL
);
