import type { MetricsMethods, MetricsSnapshot } from '../auth-types.js';
import type { Db, Queryable } from './db.js';
import { NOW, quoteIdent } from './sql.js';

/** The coordinator's lease (coordinator/coordinator.ts COORDINATOR_LEASE). */
const COORDINATOR_LEASE = 'coordinator';

/**
 * What `/metrics` reads at a scrape, in one statement judged by the database's clock (or the
 * store's injected one): pending jobs counted as the halves the claim indexes cover, running ones
 * through the lease index, so finished jobs are never read.
 */
function snapshotSql(schema: string): string {
  const s = quoteIdent(schema);
  return `WITH t AS (SELECT ${NOW} AS now)
    SELECT (SELECT now FROM t) AS now,
      (SELECT coalesce(json_agg(d), '[]') FROM (
        SELECT queue, state, sum(n)::int AS count FROM (
          SELECT queue, 'pending' AS state, count(*) AS n FROM ${s}.jobs
            WHERE state = 'pending' AND placement IS NULL AND concurrency_key IS NULL GROUP BY queue
          UNION ALL SELECT queue, 'pending', count(*) FROM ${s}.jobs
            WHERE state = 'pending' AND (placement IS NOT NULL OR concurrency_key IS NOT NULL) GROUP BY queue
          UNION ALL SELECT queue, 'running', count(*) FROM ${s}.jobs WHERE state = 'running' GROUP BY queue
        ) c GROUP BY queue, state) d)::text AS depth,
      (SELECT coalesce(json_agg(w), '[]') FROM (
        SELECT state, count(*)::int AS count FROM ${s}.workers GROUP BY state) w)::text AS workers,
      (SELECT row_to_json(l) FROM (SELECT holder, term FROM ${s}.leases
        WHERE name = $2 AND expires_at > (SELECT now FROM t)) l)::text AS coordinator,
      (SELECT min(wake_at) FROM ${s}.schedules WHERE state = 'active' AND wake_at IS NOT NULL
        AND wake_at <= (SELECT now FROM t)) AS oldest_due_wake`;
}

interface SnapshotRow {
  now: number;
  depth: string;
  workers: string;
  coordinator: string | null;
  oldest_due_wake: number | null;
}

export function pgMetricsMethods(
  db: Db,
  read: <R>(fn: (on: Queryable) => Promise<R>) => Promise<R>,
  now: () => number | null,
): MetricsMethods {
  const sql = snapshotSql(db.schema);
  return {
    metricsSnapshot: () =>
      read(async (on): Promise<MetricsSnapshot> => {
        const [row] = await db.runShaped<SnapshotRow>(on, sql, [now(), COORDINATOR_LEASE]);
        if (!row) throw new Error('the metrics snapshot returned no row');
        return {
          now: row.now,
          depth: JSON.parse(row.depth) as MetricsSnapshot['depth'],
          workers: JSON.parse(row.workers) as MetricsSnapshot['workers'],
          coordinator:
            row.coordinator === null ? null : (JSON.parse(row.coordinator) as MetricsSnapshot['coordinator']),
          oldestDueWake: row.oldest_due_wake,
        };
      }),
  };
}
