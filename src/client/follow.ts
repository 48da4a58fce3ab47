import type { Clock } from '../core/clock.js';
import { jobNotFound } from '../core/errors.js';
import { isFinished, type JobLogEntry } from '../core/job.js';
import type { Store } from '../store/types.js';

export interface FollowLogsOptions {
  /** Start after this line id (e.g. the last one a previous follow saw). @default 0: every line */
  afterId?: number;
  /** Stops following (the iteration ends, no error). */
  signal?: AbortSignal;
  /**
   * How often to look for new lines while the job runs. Lines arrive without a notification (a
   * worker writes them every `logFlushInterval`); the job's end wakes a follower at once.
   * @default 250
   */
  pollMs?: number;
}

/** Lines read per round; a full page is followed by the next at once. */
const PAGE = 500;

/**
 * A job's log lines as they are written, ending once the job has finished and every line written
 * before its end has been yielded. A `NotFoundError` when there is no such job.
 */
export async function* followLogs(
  store: Store,
  clock: Clock,
  id: string,
  options: FollowLogsOptions = {},
): AsyncGenerator<JobLogEntry, void, undefined> {
  let afterId = options.afterId ?? 0;
  const pollMs = options.pollMs ?? 250;
  const signal = options.signal;
  while (!signal?.aborted) {
    // The state first: lines written before the job finished are then all visible below.
    const job = await store.getJob(id);
    if (!job) throw jobNotFound(id);
    for (;;) {
      const lines = await store.getJobLogs(id, { afterId, limit: PAGE });
      for (const line of lines) {
        afterId = line.id;
        yield line;
      }
      if (lines.length < PAGE || signal?.aborted) break;
    }
    if (isFinished(job.state)) return;
    await untilChange(store, clock, id, pollMs, signal);
  }
}

/** Waits `ms`, or less when the job finishes (or another process wrote) or `signal` aborts. */
async function untilChange(
  store: Store,
  clock: Clock,
  id: string,
  ms: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  const wake = new AbortController();
  const stop = () => wake.abort();
  signal?.addEventListener('abort', stop, { once: true });
  const unsubscribe = store.subscribe((n) => {
    if (n.type === 'changed' || (n.type === 'jobs-finished' && n.ids.includes(id))) stop();
  });
  try {
    await clock.sleep(ms, wake.signal);
  } finally {
    unsubscribe();
    signal?.removeEventListener('abort', stop);
  }
}
