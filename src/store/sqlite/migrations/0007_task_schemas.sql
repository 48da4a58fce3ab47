-- stint schema, version 7 (SQLite): what the web UI reads of tasks and of recent throughput.
--
-- Workers register each task's input schema (JSON Schema, null when zod cannot express it) and
-- description with its defaults.
ALTER TABLE tasks ADD COLUMN input_schema TEXT;
ALTER TABLE tasks ADD COLUMN description TEXT;

-- Throughput over time and failing tasks (store/sqlite/stats.ts) read the finished jobs of a time
-- range by finished_at. With state and started_at in the index they read only index pages, not a
-- table page per job: a job started in the range has either finished in it (here) or is running
-- (jobs_lease), so starts need no index of their own. Retention still walks it by finished_at.
DROP INDEX jobs_finished;
CREATE INDEX jobs_finished ON jobs (finished_at, state, started_at) WHERE state IN ('succeeded', 'failed', 'cancelled');
