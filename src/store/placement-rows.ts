import type { Resources } from '../core/placement.js';
import type { QueueSettings, QueueStats, ShedPolicy, WorkerRecord, WorkerRecordState } from './types.js';

/**
 * Worker and queue rows as the stores read them (JSON as text, times as integer ms) and their
 * mapping to the store types. The PostgreSQL store casts its columns to match.
 */
export interface WorkerRow {
  id: string;
  host: string;
  pid: number;
  version: string;
  queues: string;
  tasks: string;
  labels: string;
  capacity: string;
  in_use: string;
  concurrency: number;
  running: number;
  heartbeat_ms: number;
  state: WorkerRecordState;
  started_at: number;
  heartbeat_at: number;
  stopped_at: number | null;
}

export function toWorkerRecord(row: WorkerRow): WorkerRecord {
  return {
    id: row.id,
    host: row.host,
    pid: row.pid,
    version: row.version,
    queues: JSON.parse(row.queues) as string[],
    tasks: JSON.parse(row.tasks) as string[],
    labels: JSON.parse(row.labels) as Record<string, string>,
    capacity: JSON.parse(row.capacity) as Resources,
    inUse: JSON.parse(row.in_use) as Resources,
    concurrency: row.concurrency,
    running: row.running,
    heartbeatMs: row.heartbeat_ms,
    state: row.state,
    startedAt: row.started_at,
    heartbeatAt: row.heartbeat_at,
    stoppedAt: row.stopped_at,
  };
}

export interface QueueRow {
  name: string;
  max_pending: number | null;
  shed_policy: ShedPolicy;
  rate_limit: number | null;
  rate_period_ms: number | null;
  window_start: number;
  window_count: number;
}

export function defaultQueueSettings(name: string): QueueSettings {
  return { name, maxPending: null, shedPolicy: 'reject', rateLimit: null };
}

export function toQueueSettings(row: QueueRow | undefined, name: string): QueueSettings {
  if (!row) return defaultQueueSettings(name);
  return {
    name: row.name,
    maxPending: row.max_pending,
    shedPolicy: row.shed_policy,
    rateLimit:
      row.rate_limit === null || row.rate_period_ms === null
        ? null
        : { limit: row.rate_limit, periodMs: row.rate_period_ms },
  };
}

/**
 * Starts left in a queue's rate window at `now`, and the window they count in: a window that has
 * ended starts afresh at `now` (fixed windows, opened by the first start after the last one ended).
 */
export function rateAllowance(
  row: Pick<QueueRow, 'rate_limit' | 'rate_period_ms' | 'window_start' | 'window_count'>,
  now: number,
): { allowance: number; windowStart: number; used: number } {
  if (row.rate_limit === null || row.rate_period_ms === null)
    return { allowance: Number.POSITIVE_INFINITY, windowStart: row.window_start, used: row.window_count };
  if (now >= row.window_start + row.rate_period_ms)
    return { allowance: row.rate_limit, windowStart: now, used: 0 };
  return {
    allowance: Math.max(0, row.rate_limit - row.window_count),
    windowStart: row.window_start,
    used: row.window_count,
  };
}

/** The settings after a patch, checked by the caller; the row values to write. */
export function mergeQueueSettings(
  current: QueueSettings,
  patch: Partial<Omit<QueueSettings, 'name'>>,
): QueueSettings {
  return {
    name: current.name,
    maxPending: patch.maxPending === undefined ? current.maxPending : patch.maxPending,
    shedPolicy: patch.shedPolicy ?? current.shedPolicy,
    rateLimit: patch.rateLimit === undefined ? current.rateLimit : patch.rateLimit,
  };
}

/** A worker is silent (gone) once it missed three heartbeats and five more seconds. */
export function silentSince(heartbeatMs: number, now: number): number {
  return now - 3 * heartbeatMs - 5000;
}

/** Jobs of one queue in one state, as both stores count them for `listQueues`. */
export interface QueueCountRow {
  queue: string;
  state: 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  n: number;
  due: number;
  recent: number;
}

/** `listQueues`: every queue with settings or jobs, with its counts and active workers, by name. */
export function toQueueStats(
  settings: readonly QueueRow[],
  counts: readonly QueueCountRow[],
  active: readonly WorkerRecord[],
): QueueStats[] {
  const stats = new Map<string, QueueStats>();
  const entry = (name: string): QueueStats => {
    let s = stats.get(name);
    if (!s) {
      s = {
        name,
        settings: defaultQueueSettings(name),
        pending: 0,
        due: 0,
        running: 0,
        succeeded: 0,
        failed: 0,
        cancelled: 0,
        finishedLastMinute: 0,
        workers: 0,
      };
      stats.set(name, s);
    }
    return s;
  };
  for (const row of settings) entry(row.name).settings = toQueueSettings(row, row.name);
  for (const row of counts) {
    const s = entry(row.queue);
    s[row.state] = Number(row.n);
    s.due += Number(row.due ?? 0);
    s.finishedLastMinute += Number(row.recent ?? 0);
  }
  for (const w of active) for (const q of w.queues) entry(q).workers++;
  return [...stats.values()].sort((a, b) => a.name.localeCompare(b.name));
}
