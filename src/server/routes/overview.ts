import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { COORDINATOR_LEASE } from '../../coordinator/coordinator.js';
import { parseDuration } from '../../core/duration.js';
import { ValidationError } from '../../core/errors.js';
import { parseTime } from '../../schedule/trigger.js';
import {
  checkThroughput,
  type FailingTask,
  type JobThroughput,
  type ThroughputRequest,
} from '../../store/stats.js';
import type { LeaseRecord, QueueStats } from '../../store/types.js';
import type { RouteDeps } from '../deps.js';

/** How far back `failingTasks` looks. */
export const FAILING_WINDOW_MS = 3_600_000;
/** How many tasks `failingTasks` lists. */
export const FAILING_TASKS = 10;

/** What `GET /api/v1/overview` answers: the state of the whole cluster in one read. */
export interface Overview {
  /** The store's now (ms since the epoch): compare times in this answer with it, not with a local clock. */
  now: number;
  /** Every queue with jobs or settings: depth per state, jobs finished in the last minute, workers. */
  queues: QueueStats[];
  jobs: { pending: number; running: number };
  workers: { active: number };
  /** The coordinator lease while someone holds it, else null. */
  coordinator: Omit<LeaseRecord, 'name'> | null;
  /** Tasks with failed jobs in the last hour, most failures first (at most 10). */
  failingTasks: FailingTask[];
  /** Jobs started and finished per bucket (default: the last hour by minute). */
  throughput: JobThroughput;
}

const query = z.strictObject({
  since: z
    .string()
    .max(100)
    .optional()
    .describe('start of the throughput range: ms since the epoch or ISO 8601 (default: an hour ago)'),
  bucket: z
    .string()
    .max(50)
    .optional()
    .describe('width of a throughput bucket: ms, or 10s, 1m, 1h ... (default 1m; at most 1440 buckets)'),
});

/**
 * A read shared by concurrent and recent requests: reused for ten times as long as it took (so a
 * read of a few milliseconds is always fresh, and one that counts a million jobs runs at most a
 * tenth of the time however many pages poll it).
 */
export function costBoundedCache<T>(read: () => Promise<T>, now: () => number = Date.now) {
  let current: { value: Promise<T>; until: number } | null = null;
  return (): Promise<T> => {
    if (current && now() < current.until) return current.value;
    const started = now();
    const entry = { value: read(), until: Number.POSITIVE_INFINITY };
    current = entry;
    entry.value.then(
      () => {
        entry.until = now() + 10 * (now() - started);
      },
      () => {
        if (current === entry) current = null;
      },
    );
    return entry.value;
  };
}

/** The cluster at a glance, for the web UI's first page. */
export function overviewRoutes({ client, store }: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    // listQueues counts every job by queue and state: on a big table it is the costly part.
    const queueStats = costBoundedCache(() => client.listQueues());
    app.get(
      '/overview',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['overview'],
          summary:
            'Queue depths, running jobs, live workers, the coordinator, failing tasks and throughput over time, in one call',
          querystring: query,
        },
      },
      async (request): Promise<Overview> => {
        const { since, bucket } = request.query;
        const now = await store.now();
        const range: ThroughputRequest = {
          ...(since !== undefined ? { since: toMs(since, 'since') } : {}),
          ...(bucket !== undefined ? { bucketMs: toBucketMs(bucket) } : {}),
        };
        asQuery(() => checkThroughput(range, now));
        const [queues, workers, lease, failingTasks, throughput] = await Promise.all([
          queueStats(),
          client.listWorkers({ state: 'active' }),
          store.getLease(COORDINATOR_LEASE),
          store.failingTasks({ since: now - FAILING_WINDOW_MS, limit: FAILING_TASKS }),
          store.jobThroughput(range),
        ]);
        return {
          now,
          queues,
          jobs: {
            pending: queues.reduce((n, q) => n + q.pending, 0),
            running: queues.reduce((n, q) => n + q.running, 0),
          },
          workers: { active: workers.length },
          coordinator:
            lease && lease.expiresAt > now
              ? { holder: lease.holder, term: lease.term, expiresAt: lease.expiresAt }
              : null,
          failingTasks,
          throughput,
        };
      },
    );
  };
}

/** The store's checks name its fields (`bucketMs`); here the query's names apply. */
function asQuery(check: () => unknown): void {
  try {
    check();
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    const rename = (text: string) => text.replace(/^bucketMs\b/, 'bucket');
    throw new ValidationError(
      rename(err.message),
      err.issues.map((i) => ({ ...i, path: rename(i.path) })),
      { cause: err },
    );
  }
}

function toMs(value: string, path: string): number {
  return /^[0-9]{1,16}$/.test(value) ? Number(value) : parseTime(value, path);
}

function toBucketMs(value: string): number {
  return parseDuration(/^[0-9]{1,16}$/.test(value) ? Number(value) : value, 'bucket');
}
