import type { SerializedError } from '../../core/errors.js';
import type { ClaimedJob, JobEventType } from '../../core/job.js';
import type { RetryPolicy } from '../../core/retry.js';
import type {
  ClaimRequest,
  Completion,
  CompletionBatch,
  CompletionResult,
  ExpireLeasesRequest,
  ExtendLeasesRequest,
  ExtendLeasesResult,
  InsertedJob,
  NewJob,
  StoreNotification,
} from '../types.js';
import { type ClaimRow, toClaimedJob, toRowId } from './rows.js';
import type { Statements } from './statements.js';

/** What the write operations need: statements, the time, and a way to announce changes after commit. */
export interface WriteContext {
  stmts: Statements;
  now: () => number;
  /** Queued during a transaction, published after it commits. */
  announce: (notification: StoreNotification) => void;
}

const json = (value: unknown): string | null =>
  value === undefined || value === null ? null : JSON.stringify(value);

function event(
  ctx: WriteContext,
  jobId: number | string,
  at: number,
  type: JobEventType,
  attempt: number | null,
  workerId: string | null,
  detail: Record<string, unknown> | null = null,
): void {
  ctx.stmts.insertEvent.run(jobId, at, type, attempt, workerId, json(detail));
}

export function insertJobs(ctx: WriteContext, jobs: readonly NewJob[]): InsertedJob[] {
  const now = ctx.now();
  const out: InsertedJob[] = [];
  const queues = new Set<string>();
  let earliest = Number.POSITIVE_INFINITY;
  for (const job of jobs) {
    if (job.dedup) {
      const holder = ctx.stmts.dedupHolder.get(job.dedup.key) as
        | { jobId: number; expiresAt: number | null; state: string | null }
        | undefined;
      if (holder && holder.state !== null) {
        const live =
          holder.expiresAt === null
            ? holder.state === 'pending' || holder.state === 'running'
            : holder.expiresAt > now;
        if (live) {
          out.push({ id: String(holder.jobId), created: false });
          continue;
        }
      }
    }
    const runAt = job.runAt ?? now + (job.delayMs ?? 0);
    const result = ctx.stmts.insertJob.run(
      job.task,
      job.queue,
      JSON.stringify(job.input ?? null),
      job.priority,
      runAt,
      now,
      JSON.stringify(job.retry),
      job.timeoutMs,
      json(job.metadata),
      job.dedup?.key ?? null,
    );
    const id = Number(result.lastInsertRowid);
    if (job.dedup) {
      const expires = job.dedup.windowMs === null ? null : now + job.dedup.windowMs;
      ctx.stmts.upsertDedup.run(job.dedup.key, id, expires);
    }
    queues.add(job.queue);
    if (runAt < earliest) earliest = runAt;
    out.push({ id: String(id), created: true });
  }
  if (queues.size > 0) ctx.announce({ type: 'jobs-available', queues: [...queues], earliestRunAt: earliest });
  return out;
}

export function claimJobs(ctx: WriteContext, req: ClaimRequest): ClaimedJob[] {
  if (req.limit <= 0 || req.queues.length === 0 || req.tasks.length === 0) return [];
  const now = ctx.now();
  const tasks = JSON.stringify(req.tasks);
  let rows: ClaimRow[];
  if (req.queues.length === 1) {
    rows = ctx.stmts.claimFromQueue.all(
      req.workerId,
      now,
      now + req.leaseMs,
      req.queues[0],
      now,
      tasks,
      req.limit,
    ) as ClaimRow[];
  } else {
    // Best `limit` candidates across queues, merged in claim order.
    const candidates: { id: number; priority: number; run_at: number }[] = [];
    for (const queue of req.queues) {
      candidates.push(
        ...(ctx.stmts.candidatesOfQueue.all(queue, now, tasks, req.limit) as {
          id: number;
          priority: number;
          run_at: number;
        }[]),
      );
    }
    candidates.sort((a, b) => b.priority - a.priority || a.run_at - b.run_at || a.id - b.id);
    const ids = candidates.slice(0, req.limit).map((c) => c.id);
    if (ids.length === 0) return [];
    rows = ctx.stmts.claimByIds.all(req.workerId, now, now + req.leaseMs, JSON.stringify(ids)) as ClaimRow[];
  }
  const claimed = rows.map(toClaimedJob);
  for (const job of claimed) event(ctx, job.id, now, 'started', job.attempt, req.workerId);
  claimed.sort((a, b) => b.priority - a.priority || Number(a.id) - Number(b.id));
  return claimed;
}

function cancelledError(reason: string): SerializedError {
  return { name: 'JobCancelledError', code: 'JOB_CANCELLED', message: reason };
}

function applyCompletion(ctx: WriteContext, c: Completion, now: number): boolean {
  const { stmts } = ctx;
  switch (c.outcome) {
    case 'succeeded':
      if (stmts.succeed.run(json(c.output), now, c.id, c.attempt).changes === 0) return false;
      event(ctx, c.id, now, 'succeeded', c.attempt, c.workerId);
      return true;
    case 'failed': {
      const error = JSON.stringify(c.error);
      if (c.retryDelayMs === null) {
        if (stmts.fail.run(error, now, c.id, c.attempt).changes === 0) return false;
        event(ctx, c.id, now, 'failed', c.attempt, c.workerId, { error: summarize(c.error) });
      } else {
        const runAt = now + c.retryDelayMs;
        if (stmts.retryLater.run(error, runAt, c.id, c.attempt).changes === 0) return false;
        event(ctx, c.id, now, 'retry_scheduled', c.attempt, c.workerId, {
          error: summarize(c.error),
          delayMs: c.retryDelayMs,
          runAt,
        });
      }
      return true;
    }
    case 'cancelled':
      if (
        stmts.cancelRunning.run(JSON.stringify(cancelledError(c.reason)), now, c.id, c.attempt).changes === 0
      )
        return false;
      event(ctx, c.id, now, 'cancelled', c.attempt, c.workerId, { reason: c.reason });
      return true;
    case 'released':
      if (stmts.release.run(now, c.id, c.attempt).changes === 0) return false;
      event(ctx, c.id, now, 'released', c.attempt, c.workerId, { reason: c.reason });
      return true;
  }
}

const summarize = (e: SerializedError) => ({
  name: e.name,
  message: e.message,
  ...(e.code ? { code: e.code } : {}),
});

export function completeJobs(ctx: WriteContext, batch: CompletionBatch): CompletionResult[] {
  const now = ctx.now();
  const { stmts } = ctx;
  for (const log of batch.logs ?? []) {
    stmts.insertLog.run(log.jobId, log.attempt, log.at, log.level, log.message, json(log.fields));
  }
  for (const p of batch.progress ?? []) stmts.setProgress.run(p.done, p.total, p.jobId, p.attempt);

  const results: CompletionResult[] = [];
  const finished: string[] = [];
  const requeued = new Set<string>();
  let earliest = Number.POSITIVE_INFINITY;
  for (const c of batch.completions) {
    if (applyCompletion(ctx, c, now)) {
      if (
        c.outcome === 'succeeded' ||
        c.outcome === 'cancelled' ||
        (c.outcome === 'failed' && c.retryDelayMs === null)
      ) {
        finished.push(c.id);
        results.push({ id: c.id, applied: true, state: c.outcome === 'failed' ? 'failed' : c.outcome });
      } else {
        const row = stmts.jobStateAttempt.get(c.id) as { queue: string };
        requeued.add(row.queue);
        earliest = Math.min(earliest, now + (c.outcome === 'failed' ? (c.retryDelayMs ?? 0) : 0));
        results.push({ id: c.id, applied: true, state: 'pending' });
      }
      continue;
    }
    const current = stmts.jobStateAttempt.get(c.id) as { state: string; attempt: number } | undefined;
    if (current) {
      event(ctx, c.id, now, 'stale_completion', c.attempt, c.workerId, {
        outcome: c.outcome,
        currentState: current.state,
        currentAttempt: current.attempt,
      });
    }
    results.push({ id: c.id, applied: false, state: (current?.state as CompletionResult['state']) ?? null });
  }
  if (finished.length > 0) ctx.announce({ type: 'jobs-finished', ids: finished });
  if (requeued.size > 0)
    ctx.announce({ type: 'jobs-available', queues: [...requeued], earliestRunAt: earliest });
  return results;
}

export function extendLeases(ctx: WriteContext, req: ExtendLeasesRequest): ExtendLeasesResult {
  const expires = ctx.now() + req.leaseMs;
  const lost: string[] = [];
  const cancelRequested: string[] = [];
  for (const job of req.jobs) {
    const row = ctx.stmts.extendLease.get(expires, job.id, job.attempt) as
      | { cancel_requested: number }
      | undefined;
    if (!row) lost.push(job.id);
    else if (row.cancel_requested === 1) cancelRequested.push(job.id);
  }
  return { lost, cancelRequested };
}

interface ExpiredRow {
  id: number;
  attempt: number;
  attempt_base: number;
  retry: string;
  worker_id: string | null;
  cancel_requested: number;
  queue: string;
}

export function expireLeases(ctx: WriteContext, req: ExpireLeasesRequest): number {
  const now = ctx.now();
  const rows = ctx.stmts.expiredLeases.all(now, req.limit) as ExpiredRow[];
  const finished: string[] = [];
  const requeued = new Set<string>();
  for (const row of rows) {
    const id = String(row.id);
    const error: SerializedError = {
      name: 'LeaseLostError',
      code: 'LEASE_LOST',
      message: `lease expired: worker ${row.worker_id ?? '?'} stopped renewing it (attempt ${row.attempt})`,
    };
    event(ctx, id, now, 'lease_expired', row.attempt, row.worker_id);
    const workerId = row.worker_id ?? 'sweeper';
    if (row.cancel_requested === 1) {
      applyCompletion(
        ctx,
        { id, attempt: row.attempt, workerId, outcome: 'cancelled', reason: 'cancel requested' },
        now,
      );
      finished.push(id);
      continue;
    }
    const retryDelayMs = req.decide({
      attemptsUsed: row.attempt - row.attempt_base,
      retry: JSON.parse(row.retry) as RetryPolicy,
    });
    applyCompletion(ctx, { id, attempt: row.attempt, workerId, outcome: 'failed', error, retryDelayMs }, now);
    if (retryDelayMs === null) finished.push(id);
    else requeued.add(row.queue);
  }
  if (finished.length > 0) ctx.announce({ type: 'jobs-finished', ids: finished });
  if (requeued.size > 0) ctx.announce({ type: 'jobs-available', queues: [...requeued], earliestRunAt: now });
  return rows.length;
}

export { toRowId };
