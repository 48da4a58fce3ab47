import type { Clock } from '../../core/clock.js';
import { type Placement, unplaceableReason } from '../../core/placement.js';
import {
  mergeQueueSettings,
  type QueueCountRow,
  type QueueRow,
  toQueueSettings,
  toQueueStats,
  toWorkerRecord,
  type WorkerRow,
} from '../placement-rows.js';
import type { Store } from '../types.js';
import type { PlacementStatements } from './placement-sql.js';

type Wrap = <A extends unknown[], R>(fn: (...args: A) => R) => (...args: A) => Promise<R>;

export type PlacementMethods = Pick<
  Store,
  'heartbeatWorker' | 'stopWorker' | 'listWorkers' | 'sweepWorkers' | 'setQueue' | 'getQueue' | 'listQueues'
>;

/** The worker registry and queue settings of the SQLite store. */
export function createSqlitePlacementMethods(
  p: PlacementStatements,
  clock: Clock,
  write: Wrap,
  read: Wrap,
): PlacementMethods {
  const listWorkers = (filter?: { state?: WorkerRow['state'] }) =>
    ((filter?.state ? p.listWorkersIn.all(filter.state) : p.listWorkers.all()) as WorkerRow[]).map(
      toWorkerRecord,
    );
  return {
    heartbeatWorker: write((w) => {
      p.heartbeat.run({
        id: w.id,
        host: w.host,
        pid: w.pid,
        version: w.version,
        queues: JSON.stringify(w.queues),
        tasks: JSON.stringify(w.tasks),
        labels: JSON.stringify(w.labels),
        capacity: JSON.stringify(w.capacity),
        in_use: JSON.stringify(w.inUse),
        concurrency: w.concurrency,
        running: w.running,
        heartbeat_ms: w.heartbeatMs,
        now: clock.now(),
      });
    }),
    stopWorker: write((id: string) => {
      p.stopWorker.run(clock.now(), id);
    }),
    listWorkers: read(listWorkers),
    sweepWorkers: write(({ forgetMs }) => {
      const now = clock.now();
      const gone = p.markGone.run({ now }).changes;
      p.forgetWorkers.run(now - forgetMs);
      const live = listWorkers({ state: 'active' });
      let unplaceable = 0;
      let placeable = 0;
      for (const row of p.pendingPlacements.all() as {
        queue: string;
        placement: string;
        unplaceable: string | null;
      }[]) {
        const reason = unplaceableReason(row.queue, JSON.parse(row.placement) as Placement, live);
        if (reason === row.unplaceable) continue;
        const changed = p.setUnplaceable.run({ reason, queue: row.queue, placement: row.placement }).changes;
        if (reason === null) placeable += changed;
        else unplaceable += changed;
      }
      return { gone, unplaceable, placeable };
    }),
    setQueue: write((name: string, patch) => {
      const current = toQueueSettings(p.getQueue.get(name) as QueueRow | undefined, name);
      const next = mergeQueueSettings(current, patch);
      p.upsertQueue.run(
        name,
        next.maxPending,
        next.shedPolicy,
        next.rateLimit?.limit ?? null,
        next.rateLimit?.periodMs ?? null,
        clock.now(),
      );
      return next;
    }),
    getQueue: read((name: string) => toQueueSettings(p.getQueue.get(name) as QueueRow | undefined, name)),
    listQueues: read(() => {
      const now = clock.now();
      return toQueueStats(
        p.allQueues.all() as QueueRow[],
        p.queueCounts.all({ now, since: now - 60_000 }) as QueueCountRow[],
        listWorkers({ state: 'active' }),
      );
    }),
  };
}
