import type { Completion, NewJob, Store } from '../store/types.js';

/** How an attempt ended, as the metrics count it. */
export type JobOutcome = 'succeeded' | 'failed' | 'retrying' | 'cancelled' | 'released';

/** What a job's metrics are labelled with. */
export interface JobLabels {
  task: string;
  queue: string;
}

/**
 * Hears about jobs as this process submits, starts and finishes them (counters and histograms are
 * process-local; Prometheus sums them across processes). A worker takes one as its `metrics`
 * option; the HTTP server feeds its own from the API's submissions. Implementations must be cheap
 * and must not throw.
 */
export interface JobObserver {
  /** `n` jobs of `task` were created (deduplicated submissions are not counted). */
  submitted(task: string, queue: string, n: number): void;
  /** An attempt started, `waitMs` after the job was created (its requested delay included). */
  started(job: JobLabels, waitMs: number): void;
  /** An attempt ended after running `durationMs`. */
  finished(job: JobLabels, outcome: JobOutcome, durationMs: number): void;
}

/** The outcome of the attempt a completion reports. */
export function outcomeOf(completion: Completion): JobOutcome {
  if (completion.outcome === 'failed') return completion.retryDelayMs === null ? 'failed' : 'retrying';
  return completion.outcome;
}

/** A store whose `insertJobs` reports the jobs it created to `observer`; everything else is the store's. */
export function observeSubmissions(store: Store, observer: JobObserver): Store {
  return {
    ...store,
    async insertJobs(jobs: readonly NewJob[], options?: { tx?: unknown }) {
      const inserted = await store.insertJobs(jobs, options);
      const counts = new Map<string, { task: string; queue: string; n: number }>();
      inserted.forEach((r, i) => {
        const job = jobs[i];
        if (!r.created || !job) return;
        const key = `${job.task}\u0000${job.queue}`;
        const entry = counts.get(key) ?? { task: job.task, queue: job.queue, n: 0 };
        entry.n++;
        counts.set(key, entry);
      });
      for (const c of counts.values()) observer.submitted(c.task, c.queue, c.n);
      return inserted;
    },
  };
}
