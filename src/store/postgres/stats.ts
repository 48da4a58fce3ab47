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
import type { Db, Queryable } from './db.js';
import { NOW, quoteIdent } from './sql.js';

const FINISHED = "state IN ('succeeded', 'failed', 'cancelled')";

/**
 * The statements of what the web UI reads: throughput per bucket, failing tasks, the task list and
 * a lease. The range reads scan `jobs_finished` (finished_at, including state and started_at) from
 * `since`, an index-only scan over the range; running jobs come from `jobs_lease`.
 */
export function pgStatsSql(schema: string) {
  const s = quoteIdent(schema);
  return {
    /** ($1 now) */
    now: `SELECT ${NOW} AS now`,
    /**
     * ($1 bucket_ms, $2 since, $3 until) -> job counts by finished bucket, started bucket and state,
     * in one pass over the range: a job started in the range has finished in it since, or is running
     * (a start before a retry is not on the row any more).
     */
    throughput: `SELECT finished_at - finished_at % $1::bigint AS finished,
        CASE WHEN started_at >= $2::bigint THEN started_at - started_at % $1::bigint END AS started, state,
        count(*)::int AS n
      FROM ${s}.jobs WHERE ${FINISHED} AND finished_at >= $2::bigint AND finished_at <= $3::bigint
      GROUP BY 1, 2, 3
      UNION ALL
      SELECT NULL, started_at - started_at % $1::bigint, state, count(*)::int FROM ${s}.jobs
      WHERE state = 'running' AND started_at >= $2::bigint AND started_at <= $3::bigint
      GROUP BY 2, 3`,
    /** ($1 since, $2 limit) -> tasks with jobs failed since, most first */
    failingTasks: `SELECT task, count(*)::int AS failed, max(finished_at) AS "lastFailedAt" FROM ${s}.jobs
      WHERE ${FINISHED} AND state = 'failed' AND finished_at >= $1::bigint
      GROUP BY task ORDER BY failed DESC, task LIMIT $2`,
    listTasks: `SELECT name, queue, priority, max_attempts, backoff_ms, backoff_factor, backoff_max_ms, backoff_jitter,
        timeout_ms, revertible, placement::text AS placement, concurrency::text AS concurrency,
        input_schema::text AS input_schema, description, updated_at
      FROM ${s}.tasks ORDER BY name`,
    /** ($1 name) */
    getLease: `SELECT name, holder, term, expires_at FROM ${s}.leases WHERE name = $1`,
  } as const;
}

export function pgStatsMethods(
  db: Db,
  read: <R>(fn: (on: Queryable) => Promise<R>) => Promise<R>,
  now: () => number | null,
): StatsMethods & Pick<Store, 'listTasks' | 'getLease'> {
  const sql = pgStatsSql(db.schema);
  return {
    jobThroughput: (request) =>
      read(async (on) => {
        const [row] = await db.runShaped<{ now: number }>(on, sql.now, [now()]);
        const range = checkThroughput(request, Number(row?.now ?? Date.now()));
        const rows = await db.runShaped<ThroughputRow>(on, sql.throughput, [
          range.bucketMs,
          range.since,
          range.until,
        ]);
        return fillBuckets(range, rows);
      }),
    failingTasks: async (request) => {
      const { since, limit } = checkFailingTasks(request);
      return read((on) => db.runShaped<FailingTask>(on, sql.failingTasks, [since, limit]));
    },
    listTasks: () =>
      read(async (on) => (await db.runShaped<TaskInfoRow>(on, sql.listTasks, [])).map(toTaskInfo)),
    getLease: (name) =>
      read(async (on) => {
        const [row] = await db.runShaped<LeaseRow>(on, sql.getLease, [name]);
        return row ? toLeaseRecord(row) : null;
      }),
  };
}
