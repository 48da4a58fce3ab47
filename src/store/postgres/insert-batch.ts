import { QueueFullError, StoreError } from '../../core/errors.js';
import type { BatchOutcome } from '../insert-batch.js';
import type { NewJob } from '../types.js';
import { insertJobs, type TxContext } from './write.js';

/**
 * The jobs of one batch of single submits (store/insert-batch.ts), inside the caller's
 * transaction, each as if inserted alone and in order. Jobs of `admission` queues (with a
 * `maxPending` limit) are admitted one at a time, so each sees the ones before it and a full queue
 * fails that job alone (admission stores nothing before it refuses). Runs of other jobs go through
 * `insertJobs` together: it checks dedup keys job by job, and jobs sharing a template are one
 * statement.
 */
export async function insertEach(
  ctx: TxContext,
  jobs: readonly NewJob[],
  admission: ReadonlySet<string>,
): Promise<BatchOutcome[]> {
  const out: BatchOutcome[] = [];
  for (let i = 0; i < jobs.length; ) {
    const job = jobs[i] as NewJob;
    if (admission.has(job.queue)) {
      try {
        out.push(...(await insertJobs(ctx, [job], admission)));
      } catch (err) {
        if (!(err instanceof QueueFullError)) throw err;
        out.push(err);
      }
      i++;
      continue;
    }
    let end = i + 1;
    while (end < jobs.length && !admission.has((jobs[end] as NewJob).queue)) end++;
    out.push(...(await insertJobs(ctx, jobs.slice(i, end))));
    i = end;
  }
  return out;
}

/**
 * Whether a failed batch may owe its failure to one of its jobs: a value PostgreSQL refuses (data
 * exceptions, constraint violations, a value too large) or JSON cannot hold. A lost connection or
 * a busy server fails every job alike.
 */
export function isJobError(err: unknown): boolean {
  const cause = err instanceof StoreError ? err.cause : err;
  if (cause instanceof TypeError || cause instanceof RangeError) return true;
  const code = (cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^(22|23|54)/.test(code);
}
