-- stint schema, version 6 (PostgreSQL): nothing changes here.
-- SQLite's version 6 rebuilds schedule_runs so that a round of fires appends to its indexes instead
-- of rewriting every leaf page (UNIQUE (key, schedule_id), and runs of schedules that never read
-- their open runs written closed). PostgreSQL keeps version 5's schedule_runs: the numbers of both
-- dialects stay in step, and its behaviour is the same (test/conformance/schedule-*.ts).
SELECT 1;
