import type Database from 'better-sqlite3';
import {
  checkFailingTasks,
  checkThroughput,
  type FailingTask,
  fillBuckets,
  type StatsMethods,
  type ThroughputRow,
} from '../stats.js';
import { type LeaseRow, type TaskInfoRow, toLeaseRecord, toTaskInfo } from '../task-rows.js';
import type { Store } from '../types.js';

type Wrap = <A extends unknown[], R>(fn: (...args: A) => R) => (...args: A) => Promise<R>;

const FINISHED = "state IN ('succeeded', 'failed', 'cancelled')";

/**
 * The statements of what the web UI reads: throughput per bucket, failing tasks, the task list and
 * a lease. The range reads walk `jobs_finished` (finished_at, state, started_at) from `since`, so
 * they read only index pages of the range; running jobs come from `jobs_lease`.
 */
export const STATS_SQL = {
  /**
   * (first, bucket, since, until) -> per bucket, as JSON [succeeded, failed, cancelled, started]: the
   * jobs that finished in it, and of those the ones that also started in it. One aggregate per
   * bucket over its slice of the index, so no row is sorted (a GROUP BY over the range sorted every
   * row, 3-4x slower at a million).
   */
  finishedPerBucket: `WITH RECURSIVE b(at) AS (
      SELECT :first UNION ALL SELECT at + :bucket FROM b WHERE at + :bucket <= :until)
    SELECT at, (SELECT json_array(count(*) FILTER (WHERE state = 'succeeded'),
        count(*) FILTER (WHERE state = 'failed'), count(*) FILTER (WHERE state = 'cancelled'),
        count(*) FILTER (WHERE started_at >= max(at, :since)))
      FROM jobs WHERE ${FINISHED} AND finished_at >= max(at, :since) AND finished_at < at + :bucket
        AND finished_at <= :until) AS counts
    FROM b`,
  /**
   * (bucket, since, until) -> starts in the range outside the bucket their job finished in (few: the
   * jobs that ran across a bucket's end), and starts of running jobs, per bucket. A job started in
   * the range has finished in it since, or is running (a start before a retry is not on the row
   * any more).
   */
  otherStarts: `SELECT started_at - started_at % :bucket AS at, count(*) AS n FROM jobs
    WHERE ${FINISHED} AND finished_at >= :since AND finished_at <= :until AND started_at >= :since
      AND started_at - started_at % :bucket <> finished_at - finished_at % :bucket
    GROUP BY 1
    UNION ALL
    SELECT started_at - started_at % :bucket, count(*) FROM jobs
    WHERE state = 'running' AND started_at >= :since AND started_at <= :until
    GROUP BY 1`,
  /** (since, limit) -> tasks with jobs failed since, most first */
  failingTasks: `SELECT task, count(*) AS failed, max(finished_at) AS lastFailedAt FROM jobs
    WHERE ${FINISHED} AND state = 'failed' AND finished_at >= ?
    GROUP BY task ORDER BY failed DESC, task LIMIT ?`,
  listTasks: 'SELECT * FROM tasks ORDER BY name',
  /** (name) */
  getLease: 'SELECT name, holder, term, expires_at FROM leases WHERE name = ?',
} as const;

export function createSqliteStats(
  db: Database.Database,
  read: Wrap,
  now: () => number,
): StatsMethods & Pick<Store, 'listTasks' | 'getLease'> {
  const s = Object.fromEntries(Object.entries(STATS_SQL).map(([k, v]) => [k, db.prepare(v)])) as {
    [K in keyof typeof STATS_SQL]: Database.Statement;
  };
  return {
    jobThroughput: read((request) => {
      const range = checkThroughput(request, now());
      const { bucketMs: bucket, since, until } = range;
      const rows: ThroughputRow[] = [];
      const first = since - (since % bucket);
      for (const { at, counts } of s.finishedPerBucket.all({ first, bucket, since, until }) as {
        at: number;
        counts: string;
      }[]) {
        const [succeeded, failed, cancelled, started] = JSON.parse(counts) as number[];
        rows.push(
          { finished: at, started: null, state: 'succeeded', n: succeeded ?? 0 },
          { finished: at, started: null, state: 'failed', n: failed ?? 0 },
          { finished: at, started: null, state: 'cancelled', n: cancelled ?? 0 },
          { finished: null, started: at, state: 'started', n: started ?? 0 },
        );
      }
      for (const { at, n } of s.otherStarts.all({ bucket, since, until }) as { at: number; n: number }[])
        rows.push({ finished: null, started: at, state: 'started', n });
      return fillBuckets(range, rows);
    }),
    failingTasks: read((request) => {
      const { since, limit } = checkFailingTasks(request);
      return s.failingTasks.all(since, limit) as FailingTask[];
    }),
    listTasks: read(() => (s.listTasks.all() as TaskInfoRow[]).map(toTaskInfo)),
    getLease: read((name: string) => {
      const row = s.getLease.get(name) as LeaseRow | undefined;
      return row ? toLeaseRecord(row) : null;
    }),
  };
}
