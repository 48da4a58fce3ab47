import { QueueFullError, StoreError } from '../../core/errors.js';
import type { BatchOutcome } from '../insert-batch.js';
import type { NewJob } from '../types.js';
import { insertJobs, type WriteContext } from './write.js';

/**
 * The jobs of one batch of single submits (store/insert-batch.ts), inside the caller's
 * transaction, each as if inserted alone and in order. Jobs of a queue with an admission limit
 * are admitted one at a time, so each sees the ones before it and a full queue fails that job
 * alone (admission changes nothing before it refuses). Runs of other jobs go through `insertJobs`
 * together: it checks dedup keys job by job, and jobs sharing a template are one statement.
 */
export function insertEach(ctx: WriteContext, jobs: readonly NewJob[]): BatchOutcome[] {
  const limited = new Map<string, boolean>();
  const isLimited = (queue: string) => {
    let has = limited.get(queue);
    if (has === undefined) {
      has = ctx.placement.admission.get(queue) !== undefined;
      limited.set(queue, has);
    }
    return has;
  };
  const out: BatchOutcome[] = [];
  for (let i = 0; i < jobs.length; ) {
    const job = jobs[i] as NewJob;
    if (isLimited(job.queue)) {
      try {
        out.push(...insertJobs(ctx, [job]));
      } catch (err) {
        if (!(err instanceof QueueFullError)) throw err;
        out.push(err);
      }
      i++;
      continue;
    }
    let end = i + 1;
    while (end < jobs.length && !isLimited((jobs[end] as NewJob).queue)) end++;
    out.push(...insertJobs(ctx, jobs.slice(i, end), { admission: false }));
    i = end;
  }
  return out;
}

/**
 * Whether a failed batch may owe its failure to one of its jobs: a value SQLite or JSON refuses.
 * A busy, locked, full or unreadable database fails every job alike.
 */
export function isJobError(err: unknown): boolean {
  if (!(err instanceof StoreError)) return true;
  const code = (err.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^SQLITE_(CONSTRAINT|TOOBIG|MISMATCH|RANGE)/.test(code);
}
