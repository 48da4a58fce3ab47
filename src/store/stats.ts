/**
 * What the web UI's overview reads beyond queues and workers: jobs started and finished per time
 * bucket, and the tasks whose jobs failed lately. The request checks, defaults and the filling of
 * empty buckets are written once here for both stores; each store's stats.ts holds its SQL.
 *
 * Both reads look only at the time range asked for: finished jobs through `jobs_finished` (by
 * finished_at, holding state and started_at too), running ones through `jobs_lease`.
 */
import { ValidationError } from '../core/errors.js';

/** @default one hour back */
export const DEFAULT_THROUGHPUT_RANGE_MS = 3_600_000;
/** @default one minute */
export const DEFAULT_BUCKET_MS = 60_000;
/** The smallest bucket. */
export const MIN_BUCKET_MS = 1_000;
/** The most buckets one read returns (a day of minutes). */
export const MAX_BUCKETS = 1_440;
/** The most tasks `failingTasks` returns. */
export const MAX_FAILING_TASKS = 100;

export interface ThroughputRequest {
  /**
   * Start of the range (ms since the epoch).
   * @default the start of the bucket that makes the range an hour long, the current bucket included
   */
  since?: number;
  /** Width of a bucket. @default 60000 (one minute) */
  bucketMs?: number;
}

/** Jobs per time bucket. */
export interface ThroughputBucket {
  /** Start of the bucket: a multiple of `bucketMs` since the epoch. */
  at: number;
  /** Jobs whose latest attempt started in the bucket (earlier attempts of retried jobs are not counted). */
  started: number;
  /** Jobs that finished in the bucket, by how. */
  succeeded: number;
  failed: number;
  cancelled: number;
}

export interface JobThroughput {
  since: number;
  /** The store's now: the end of the range. */
  until: number;
  bucketMs: number;
  /**
   * Every bucket from the one holding `since` to the one holding `until`, oldest first, empty ones
   * included. Buckets are aligned to multiples of `bucketMs`, so the first and last may be partial
   * (only `since..until` is counted) and a chart that polls does not shift its bars.
   */
  buckets: ThroughputBucket[];
}

/** A task with jobs that failed in the range. */
export interface FailingTask {
  task: string;
  /** Its jobs that ended `failed` since `since`. */
  failed: number;
  /** When the latest of them failed (ms since the epoch). */
  lastFailedAt: number;
}

export interface StatsMethods {
  /** Jobs started and finished per time bucket between `since` and now, read from that range only. */
  jobThroughput(request?: ThroughputRequest): Promise<JobThroughput>;
  /** Tasks with jobs that failed since `since` (ms), most failures first, then by name; at most `limit` (default 10). */
  failingTasks(request: { since: number; limit?: number }): Promise<FailingTask[]>;
}

/** A throughput request checked against `now`; a `ValidationError` names the field. */
export interface ThroughputRange {
  since: number;
  until: number;
  bucketMs: number;
}

function fail(path: string, message: string): never {
  throw new ValidationError(`${path} ${message}`, [{ path, message }]);
}

export function checkThroughput(request: ThroughputRequest | undefined, now: number): ThroughputRange {
  const bucketMs = request?.bucketMs ?? DEFAULT_BUCKET_MS;
  if (!Number.isSafeInteger(bucketMs) || bucketMs < MIN_BUCKET_MS)
    fail('bucketMs', `must be a whole number of milliseconds, at least ${MIN_BUCKET_MS}`);
  // By default the buckets that cover the last hour: 60 one-minute bars, the last one still filling.
  const since =
    request?.since ??
    now - (now % bucketMs) - (Math.max(1, Math.ceil(DEFAULT_THROUGHPUT_RANGE_MS / bucketMs)) - 1) * bucketMs;
  if (!Number.isSafeInteger(since) || since < 0) fail('since', 'must be whole milliseconds since the epoch');
  if (since > now) fail('since', `must not be in the future (now is ${now})`);
  const buckets = Math.floor(now / bucketMs) - Math.floor(since / bucketMs) + 1;
  if (buckets > MAX_BUCKETS)
    fail('bucketMs', `gives ${buckets} buckets for this range; at most ${MAX_BUCKETS} (use wider buckets)`);
  return { since, until: now, bucketMs };
}

export function checkFailingTasks(request: { since: number; limit?: number }): {
  since: number;
  limit: number;
} {
  if (!Number.isSafeInteger(request.since)) fail('since', 'must be whole milliseconds since the epoch');
  const limit = request.limit ?? 10;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_FAILING_TASKS)
    fail('limit', `must be an integer from 1 to ${MAX_FAILING_TASKS}`);
  return { since: request.since, limit };
}

/**
 * What a store's throughput statement returns: jobs counted by the bucket they finished in (null for
 * running ones), the bucket they started in (null when before the range or never started) and state.
 * One pass over the range yields both groupings; they are folded into buckets here.
 */
export interface ThroughputRow {
  finished: number | null;
  started: number | null;
  state: string;
  n: number;
}

/** Every bucket of the range in order, with the statement's counts folded in. */
export function fillBuckets(range: ThroughputRange, rows: readonly ThroughputRow[]): JobThroughput {
  const buckets: ThroughputBucket[] = [];
  const first = range.since - (range.since % range.bucketMs);
  const last = range.until - (range.until % range.bucketMs);
  for (let at = first; at <= last; at += range.bucketMs)
    buckets.push({ at, started: 0, succeeded: 0, failed: 0, cancelled: 0 });
  const bucketOf = (at: number | null) =>
    at === null ? undefined : buckets[Math.round((Number(at) - first) / range.bucketMs)];
  for (const row of rows) {
    const n = Number(row.n);
    const started = bucketOf(row.started);
    if (started) started.started += n;
    const finished = bucketOf(row.finished);
    if (finished && (row.state === 'succeeded' || row.state === 'failed' || row.state === 'cancelled'))
      finished[row.state] += n;
  }
  return { since: range.since, until: range.until, bucketMs: range.bucketMs, buckets };
}
