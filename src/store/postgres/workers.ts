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
import type { Db, Queryable } from './db.js';
import { runPlacement } from './placement-sql.js';

export type PlacementMethods = Pick<
  Store,
  'heartbeatWorker' | 'stopWorker' | 'listWorkers' | 'sweepWorkers' | 'setQueue' | 'getQueue' | 'listQueues'
>;

interface Deps {
  db: Db;
  now: () => number | null;
  read: <R>(fn: (on: Queryable) => Promise<R>) => Promise<R>;
  /** A queue's settings changed here: forget what is cached. */
  queuesChanged: () => void;
}

/** The worker registry and queue settings of the PostgreSQL store. */
export function createPgPlacementMethods({ db, now, read, queuesChanged }: Deps): PlacementMethods {
  const listWorkers = async (on: Queryable, state: string | null) =>
    (await runPlacement<WorkerRow>(db, on, 'listWorkers', [state])).map(toWorkerRecord);
  return {
    heartbeatWorker: (w) =>
      read(async (on) => {
        await runPlacement(db, on, 'heartbeat', [
          now(),
          w.id,
          w.host,
          w.pid,
          w.version,
          JSON.stringify(w.queues),
          JSON.stringify(w.tasks),
          JSON.stringify(w.labels),
          JSON.stringify(w.capacity),
          JSON.stringify(w.inUse),
          w.concurrency,
          w.running,
          w.heartbeatMs,
        ]);
      }),
    stopWorker: (id) =>
      read(async (on) => {
        await runPlacement(db, on, 'stopWorker', [now(), id]);
      }),
    listWorkers: (filter) => read((on) => listWorkers(on, filter?.state ?? null)),
    sweepWorkers: ({ forgetMs }) =>
      read(async (on) => {
        const gone = (await runPlacement(db, on, 'markGone', [now()])).length;
        await runPlacement(db, on, 'forgetWorkers', [now(), forgetMs]);
        const live = await listWorkers(on, 'active');
        let unplaceable = 0;
        let placeable = 0;
        const rows = await runPlacement<{ queue: string; placement: string; unplaceable: string | null }>(
          db,
          on,
          'pendingPlacements',
          [],
        );
        for (const row of rows) {
          const reason = unplaceableReason(row.queue, JSON.parse(row.placement) as Placement, live);
          if (reason === row.unplaceable) continue;
          const changed = (await runPlacement(db, on, 'setUnplaceable', [reason, row.queue, row.placement]))
            .length;
          if (reason === null) placeable += changed;
          else unplaceable += changed;
        }
        return { gone, unplaceable, placeable };
      }),
    setQueue: (name, patch) =>
      read(async (on) => {
        const [row] = await runPlacement<QueueRow>(db, on, 'getQueue', [name]);
        const next = mergeQueueSettings(toQueueSettings(row, name), patch);
        await runPlacement(db, on, 'upsertQueue', [
          now(),
          name,
          next.maxPending,
          next.shedPolicy,
          next.rateLimit?.limit ?? null,
          next.rateLimit?.periodMs ?? null,
        ]);
        queuesChanged();
        return next;
      }),
    getQueue: (name) =>
      read(async (on) => {
        const [row] = await runPlacement<QueueRow>(db, on, 'getQueue', [name]);
        return toQueueSettings(row, name);
      }),
    listQueues: () =>
      read(async (on) =>
        toQueueStats(
          await runPlacement<QueueRow>(db, on, 'allQueues', []),
          await runPlacement<QueueCountRow>(db, on, 'queueCounts', [now()]),
          await listWorkers(on, 'active'),
        ),
      ),
  };
}
