import type Database from 'better-sqlite3';
import type { MetricsMethods, MetricsSnapshot } from '../auth-types.js';

type Wrap = <A extends unknown[], R>(fn: (...args: A) => R) => (...args: A) => Promise<R>;

/** The coordinator's lease (coordinator/coordinator.ts COORDINATOR_LEASE). */
const COORDINATOR_LEASE = 'coordinator';

/**
 * What `/metrics` reads at a scrape. Pending jobs are counted as two halves that match the claim
 * indexes' conditions (plain and placed), and running ones through the lease index, so a scrape
 * reads only unfinished jobs however many finished ones the table holds.
 */
export function createSqliteMetrics(db: Database.Database, read: Wrap, now: () => number): MetricsMethods {
  const s = {
    depth: db.prepare(`SELECT queue, 'pending' AS state, count(*) AS count FROM jobs
        WHERE state = 'pending' AND placement IS NULL AND concurrency_key IS NULL GROUP BY queue
      UNION ALL SELECT queue, 'pending', count(*) FROM jobs
        WHERE state = 'pending' AND (placement IS NOT NULL OR concurrency_key IS NOT NULL) GROUP BY queue
      UNION ALL SELECT queue, 'running', count(*) FROM jobs WHERE state = 'running' GROUP BY queue`),
    workers: db.prepare('SELECT state, count(*) AS count FROM workers GROUP BY state'),
    /** (name, now) */
    lease: db.prepare('SELECT holder, term FROM leases WHERE name = ? AND expires_at > ?'),
    /** (now) */
    dueWake: db.prepare(
      "SELECT min(wake_at) AS at FROM schedules WHERE state = 'active' AND wake_at IS NOT NULL AND wake_at <= ?",
    ),
  };
  return {
    metricsSnapshot: read((): MetricsSnapshot => {
      const at = now();
      const depth = new Map<string, MetricsSnapshot['depth'][number]>();
      for (const row of s.depth.all() as MetricsSnapshot['depth']) {
        const key = `${row.queue}\u0000${row.state}`;
        const seen = depth.get(key);
        if (seen) seen.count += row.count;
        else depth.set(key, { ...row });
      }
      const lease = s.lease.get(COORDINATOR_LEASE, at) as { holder: string; term: number } | undefined;
      return {
        now: at,
        depth: [...depth.values()],
        workers: s.workers.all() as { state: string; count: number }[],
        coordinator: lease ?? null,
        oldestDueWake: (s.dueWake.get(at) as { at: number | null }).at,
      };
    }),
  };
}
