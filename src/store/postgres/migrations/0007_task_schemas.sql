-- stint schema, version 7 (PostgreSQL): what the web UI reads of tasks and of recent throughput.
--
-- Workers register each task's input schema (JSON Schema, null when zod cannot express it) and
-- description with its defaults.
ALTER TABLE {{schema}}.tasks ADD COLUMN input_schema jsonb;
ALTER TABLE {{schema}}.tasks ADD COLUMN description text;

-- Throughput over time (store/postgres/stats.ts) reads the finished jobs of a time range by
-- finished_at. With state and started_at included, that is an index-only scan: a job started in
-- the range has either finished in it (here) or is running (jobs_lease). Retention still walks it by
-- finished_at.
DROP INDEX {{schema}}.jobs_finished;
CREATE INDEX jobs_finished ON {{schema}}.jobs (finished_at) INCLUDE (state, started_at)
  WHERE state IN ('succeeded', 'failed', 'cancelled');
