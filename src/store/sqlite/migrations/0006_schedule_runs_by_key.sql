-- stint schema, version 6 (SQLite): schedule_runs indexed so that firing appends instead of
-- rewriting every leaf page.
--
-- Each second of an every-second schedule adds one run. An index that starts with schedule_id gets
-- that entry in the middle of the schedule's own entries, so a round of fires touches (and writes to
-- the WAL, then to the file) every leaf page of the index, and there are more of them with every
-- run kept. Three of the four indexes started with schedule_id; now one does:
-- - the exactly-once key is UNIQUE (key, schedule_id): the same constraint, but a fire time's key
--   ('t:<ms>') sorts after every earlier one, so a round's runs land together at the end;
-- - schedule_runs_open holds only runs whose schedule reads its open runs (overlap other than
--   `allow`, or a continuous trigger). Runs of other schedules are written closed (open = 0); the
--   store finds their active ones through schedule_runs_list, and reopens a schedule's active runs
--   when an update makes it one that reads them (store/sqlite/schedules.ts).
-- - schedule_runs_list (schedule_id, created_at, id) stays: listing a schedule's runs, newest first.
-- The table is rebuilt (SQLite cannot change a table's UNIQUE constraint); ids are kept.

ALTER TABLE schedule_runs RENAME TO schedule_runs_v5;

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
  -- 1 until a reader sees the run's job or flow finished (or deleted), for schedules that read their
  -- open runs; 0 from the start for the others (migration 0006 says why).
  open        INTEGER NOT NULL DEFAULT 1,
  UNIQUE (key, schedule_id)
);

INSERT INTO schedule_runs (id, schedule_id, key, kind, fire_time, partition, backfill_id, job_id, flow_id,
    created_at, open)
  SELECT r.id, r.schedule_id, r.key, r.kind, r.fire_time, r.partition, r.backfill_id, r.job_id, r.flow_id,
    r.created_at,
    CASE WHEN r.open = 1 AND NOT EXISTS (SELECT 1 FROM schedules s WHERE s.id = r.schedule_id
        AND s.trigger_type <> 'continuous' AND s.policies ->> '$.overlap' = 'allow') THEN 1 ELSE 0 END
  FROM schedule_runs_v5 r ORDER BY r.id;

DROP TABLE schedule_runs_v5;

CREATE INDEX schedule_runs_list ON schedule_runs (schedule_id, created_at, id);
CREATE INDEX schedule_runs_open ON schedule_runs (schedule_id, created_at, id) WHERE open = 1;
CREATE INDEX schedule_runs_backfill ON schedule_runs (backfill_id, created_at, id) WHERE backfill_id IS NOT NULL;
CREATE INDEX schedule_runs_partition ON schedule_runs (partition, schedule_id) WHERE partition IS NOT NULL;
