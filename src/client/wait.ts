import type { Clock } from '../core/clock.js';
import { jobNotFound, WaitTimeoutError } from '../core/errors.js';
import { isFinished, type JobRecord } from '../core/job.js';
import type { Store, StoreNotification } from '../store/types.js';

/** How often a waiter re-reads the job when no change notification arrives (another machine's write). */
const POLL_MS = 1000;

/**
 * Waits until a job is finished and returns its record. Wakes on the store's notifications
 * (in-process at once; another process's write via the store's change watch) and polls as a fallback.
 */
export function waitForJob(
  store: Store,
  clock: Clock,
  id: string,
  timeoutMs: number | null,
): Promise<JobRecord> {
  return waitUntil(store, clock, timeoutMs, {
    what: `job ${id}`,
    read: async () => {
      const job = await store.getJob(id);
      if (!job) throw jobNotFound(id);
      return job;
    },
    done: (job) => isFinished(job.state),
    wakes: (n) => n.type === 'jobs-finished' && n.ids.includes(id),
  });
}

/** Reads `read()` until `done`, waking on matching notifications (and any "changed"), polling as a fallback. */
export async function waitUntil<T extends { state: string }>(
  store: Store,
  clock: Clock,
  timeoutMs: number | null,
  how: {
    what: string;
    read: () => Promise<T>;
    done: (value: T) => boolean;
    wakes: (n: StoreNotification) => boolean;
  },
): Promise<T> {
  const deadline = timeoutMs === null ? null : clock.now() + timeoutMs;
  let wake: AbortController = new AbortController();
  const unsubscribe = store.subscribe((n) => {
    if (n.type === 'changed' || how.wakes(n)) wake.abort();
  });
  try {
    for (;;) {
      const value = await how.read();
      if (how.done(value)) return value;
      const left = deadline === null ? POLL_MS : deadline - clock.now();
      if (left <= 0) {
        throw new WaitTimeoutError(
          `${how.what} is still ${value.state} after ${timeoutMs}ms; wait longer or check it later`,
        );
      }
      if (!wake.signal.aborted) await clock.sleep(Math.min(left, POLL_MS), wake.signal);
      wake = new AbortController();
    }
  } finally {
    unsubscribe();
  }
}
