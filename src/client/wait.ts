import type { Clock } from '../core/clock.js';
import { jobNotFound, WaitTimeoutError } from '../core/errors.js';
import { isFinished, type JobRecord } from '../core/job.js';
import type { Store } from '../store/types.js';

/** How often a waiter re-reads the job when no change notification arrives (another machine's write). */
const POLL_MS = 1000;

/**
 * Waits until a job is finished and returns its record. Wakes on the store's notifications
 * (in-process at once; another process's write via the store's change watch) and polls as a fallback.
 */
export async function waitForJob(
  store: Store,
  clock: Clock,
  id: string,
  timeoutMs: number | null,
): Promise<JobRecord> {
  const deadline = timeoutMs === null ? null : clock.now() + timeoutMs;
  let wake: AbortController = new AbortController();
  const unsubscribe = store.subscribe((n) => {
    if (n.type === 'changed' || (n.type === 'jobs-finished' && n.ids.includes(id))) wake.abort();
  });
  try {
    for (;;) {
      const job = await store.getJob(id);
      if (!job) throw jobNotFound(id);
      if (isFinished(job.state)) return job;
      const left = deadline === null ? POLL_MS : deadline - clock.now();
      if (left <= 0) {
        throw new WaitTimeoutError(
          `job ${id} is still ${job.state} after ${timeoutMs}ms; wait longer or check it later`,
        );
      }
      if (!wake.signal.aborted) await clock.sleep(Math.min(left, POLL_MS), wake.signal);
      wake = new AbortController();
    }
  } finally {
    unsubscribe();
  }
}
