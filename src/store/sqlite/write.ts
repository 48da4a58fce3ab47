import { type SerializedError, StoreError } from '../../core/errors.js';
import type { ClaimedJob, JobEventType } from '../../core/job.js';
import type { FlowJobOutcome } from '../../flow/engine.js';
import {
  type ClaimRow,
  type RetryColumns,
  retryParams,
  toClaimedJob,
  toFlowRef,
  toRetryPolicy,
  toRowId,
} from '../rows.js';
import {
  cancelledError,
  capLogs,
  flowOutcome,
  holdsDedupKey,
  honourCancels,
  linesPerJob,
  requeueingIds,
  sameTemplate,
  summarizeError,
} from '../rules.js';
import type {
  ClaimRequest,
  Completion,
  CompletionBatch,
  CompletionResult,
  ExpireLeasesRequest,
  ExtendLeasesRequest,
  ExtendLeasesResult,
  InsertedJob,
  LogWrite,
  NewJob,
  StoreNotification,
} from '../types.js';
import { admit, pickPlacedJobs, rateWindows, spendRateWindows } from './placement.js';
import type { PlacementStatements } from './placement-sql.js';
import type { Statements } from './statements.js';

/** What the write operations need: statements, the time, and a way to announce changes after commit. */
export interface WriteContext {
  stmts: Statements;
  now: () => number;
  /** Queued during a transaction, published after it commits. */
  announce: (notification: StoreNotification) => void;
  /**
   * Queues a flow job that ended for good; the flows move on at `flushFlowJobs`, or at the latest
   * when the transaction ends.
   */
  flowJobFinished: (event: FlowJobOutcome) => void;
  /** Moves the queued flows on now (completions do, so that a claim in the same transaction sees the next steps). */
  flushFlowJobs: () => void;
  placement: PlacementStatements;
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

/**
 * Inserts jobs that share everything but their input with one statement over a JSON array of
 * inputs. Inside the write transaction nothing else inserts, so the new rowids are consecutive
 * and end at lastInsertRowid.
 */
function insertSharing(ctx: WriteContext, jobs: readonly NewJob[], now: number): string[] {
  const first = jobs[0] as NewJob;
  const inputs = `[${jobs.map((j) => JSON.stringify(j.input ?? null)).join(',')}]`;
  const result = ctx.stmts.insertJobsSharing.run(
    first.task,
    first.queue,
    first.priority,
    first.runAt ?? now + (first.delayMs ?? 0),
    now,
    ...retryParams(first.retry),
    first.timeoutMs,
    json(first.metadata),
    json(first.placement),
    first.concurrency?.key ?? null,
    first.concurrency?.limit ?? null,
    json(first.sandbox ?? null),
    inputs,
  );
  if (result.changes !== jobs.length)
    throw new StoreError(`inserted ${result.changes} of ${jobs.length} jobs`);
  const last = Number(result.lastInsertRowid);
  return jobs.map((_, i) => String(last - jobs.length + 1 + i));
}

function insertOne(ctx: WriteContext, job: NewJob, now: number, runAt: number): number {
  const result = ctx.stmts.insertJob.run(
    job.task,
    job.queue,
    JSON.stringify(job.input ?? null),
    job.priority,
    runAt,
    now,
    ...retryParams(job.retry),
    job.timeoutMs,
    json(job.metadata),
    job.dedup?.key ?? null,
    json(job.placement),
    job.concurrency?.key ?? null,
    job.concurrency?.limit ?? null,
    json(job.sandbox ?? null),
  );
  return Number(result.lastInsertRowid);
}

/** The id of the job holding `key`, when its hold is still live. */
function dedupHolder(ctx: WriteContext, key: string, now: number): string | null {
  const holder = ctx.stmts.dedupHolder.get(key) as
    | { jobId: number; expiresAt: number | null; state: string | null }
    | undefined;
  return holder && holdsDedupKey(holder, now) ? String(holder.jobId) : null;
}

/**
 * Inserts jobs. Submissions pass the queues' admission limits first (placement.ts); runs fired by
 * schedules do not (`admission: false`): a full queue must not stop every schedule from firing.
 */
export function insertJobs(
  ctx: WriteContext,
  jobs: readonly NewJob[],
  options: { admission: boolean } = { admission: true },
): InsertedJob[] {
  const now = ctx.now();
  if (options.admission) admit(ctx.placement, ctx, jobs, now);
  const out: InsertedJob[] = [];
  const queues = new Set<string>();
  let earliest = Number.POSITIVE_INFINITY;
  for (let i = 0; i < jobs.length; ) {
    const job = jobs[i] as NewJob;
    const runAt = job.runAt ?? now + (job.delayMs ?? 0);
    if (job.dedup) {
      const held = dedupHolder(ctx, job.dedup.key, now);
      if (held !== null) {
        out.push({ id: held, created: false });
        i++;
        continue;
      }
    }
    queues.add(job.queue);
    earliest = Math.min(earliest, runAt);
    // A run of jobs that differ only in input goes in one statement.
    let end = i + 1;
    if (!job.dedup)
      while (end < jobs.length && !jobs[end]?.dedup && sameTemplate(job, jobs[end] as NewJob)) end++;
    if (end - i > 1) {
      for (const id of insertSharing(ctx, jobs.slice(i, end), now)) out.push({ id, created: true });
    } else {
      const id = insertOne(ctx, job, now, runAt);
      if (job.dedup) {
        ctx.stmts.upsertDedup.run(
          job.dedup.key,
          id,
          job.dedup.windowMs === null ? null : now + job.dedup.windowMs,
        );
      }
      out.push({ id: String(id), created: true });
    }
    i = end;
  }
  if (queues.size > 0) ctx.announce({ type: 'jobs-available', queues: [...queues], earliestRunAt: earliest });
  return out;
}

/**
 * Claims in claim order (priority, runAt, insertion): placed jobs first (those that fit what the
 * worker has free, their concurrency keys and rate windows), then plain ones. A single queue
 * without a rate limit is one UPDATE; otherwise candidates of each queue are merged in claim order.
 */
export function claimJobs(ctx: WriteContext, req: ClaimRequest): ClaimedJob[] {
  if (req.limit <= 0 || req.queues.length === 0 || req.tasks.length === 0) return [];
  const now = ctx.now();
  const lease = now + req.leaseMs;
  const tasks = JSON.stringify(req.tasks);
  const windows = rateWindows(ctx.placement, req.queues, now);
  const allowance = (queue: string) => windows.get(queue)?.allowance ?? Number.POSITIVE_INFINITY;
  const placed = pickPlacedJobs(ctx.placement, req, now, req.limit, allowance);
  const perQueue = placed.perQueue;
  let rows: ClaimRow[] =
    placed.ids.length > 0
      ? (ctx.stmts.claimByIds.all(req.workerId, now, lease, JSON.stringify(placed.ids)) as ClaimRow[])
      : [];
  const limit = req.limit - rows.length;
  const only = req.queues[0] as string;
  if (limit > 0 && req.queues.length === 1 && windows.size === 0) {
    rows = rows.concat(
      ctx.stmts.claimFromQueue.all(req.workerId, now, lease, only, now, tasks, limit) as ClaimRow[],
    );
  } else if (limit > 0) {
    const candidates: { id: number; priority: number; run_at: number; queue: string }[] = [];
    for (const queue of req.queues) {
      const left = Math.min(limit, allowance(queue) - (perQueue.get(queue) ?? 0));
      if (left <= 0) continue;
      for (const c of ctx.stmts.candidatesOfQueue.all(queue, now, tasks, left) as {
        id: number;
        priority: number;
        run_at: number;
      }[])
        candidates.push({ ...c, queue });
    }
    candidates.sort((a, b) => b.priority - a.priority || a.run_at - b.run_at || a.id - b.id);
    const chosen = candidates.slice(0, limit);
    for (const c of chosen) perQueue.set(c.queue, (perQueue.get(c.queue) ?? 0) + 1);
    if (chosen.length > 0) {
      rows = rows.concat(
        ctx.stmts.claimByIds.all(
          req.workerId,
          now,
          lease,
          JSON.stringify(chosen.map((c) => c.id)),
        ) as ClaimRow[],
      );
    }
  }
  if (windows.size > 0) spendRateWindows(ctx.placement, windows, perQueue);
  // The start of each attempt is read from the row (started_at, worker_id) until the attempt ends.
  const claimed = rows.map(toClaimedJob);
  claimed.sort((a, b) => b.priority - a.priority || Number(a.id) - Number(b.id));
  return claimed;
}

/** The lines of a batch to store: each job's count moves on, and lines past its cap are dropped. */
function storedLogs(ctx: WriteContext, logs: readonly LogWrite[]): readonly LogWrite[] {
  if (logs.length === 0) return logs;
  const before = new Map<string, number>();
  for (const [jobId, n] of linesPerJob(logs)) {
    const row = ctx.stmts.countLogLines.get(n, jobId) as { log_lines: number } | undefined;
    if (row) before.set(jobId, row.log_lines - n);
  }
  return capLogs(logs, before);
}

/**
 * Applies one completion other than success (those are batched in completeJobs), fenced by attempt.
 * Where the job goes back to pending, the attempt's start moves from the row to the events first.
 */
function applyCompletion(
  ctx: WriteContext,
  c: Exclude<Completion, { outcome: 'succeeded' }>,
  now: number,
): boolean {
  const { stmts } = ctx;
  switch (c.outcome) {
    case 'failed': {
      const error = JSON.stringify(c.error);
      if (c.retryDelayMs === null) {
        if (stmts.fail.run(error, now, c.id, c.attempt).changes === 0) return false;
        event(ctx, c.id, now, 'failed', c.attempt, c.workerId, { error: summarizeError(c.error) });
      } else {
        const runAt = now + c.retryDelayMs;
        stmts.keepStartEvent.run(c.id, c.attempt);
        if (stmts.retryLater.run(error, runAt, c.id, c.attempt).changes === 0) return false;
        event(ctx, c.id, now, 'retry_scheduled', c.attempt, c.workerId, {
          error: summarizeError(c.error),
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
      stmts.keepStartEvent.run(c.id, c.attempt);
      if (stmts.release.run(now, c.id, c.attempt).changes === 0) return false;
      event(ctx, c.id, now, 'released', c.attempt, c.workerId, { reason: c.reason });
      return true;
  }
}

export function completeJobs(ctx: WriteContext, batch: CompletionBatch): CompletionResult[] {
  const now = ctx.now();
  const { stmts } = ctx;
  const requeueing = requeueingIds(batch.completions);
  const completions =
    requeueing.length === 0
      ? batch.completions
      : honourCancels(
          batch.completions,
          new Set(
            (stmts.cancelRequestedOf.all(JSON.stringify(requeueing.map(Number))) as { id: number }[]).map(
              (r) => String(r.id),
            ),
          ),
        );
  for (const log of storedLogs(ctx, batch.logs ?? [])) {
    stmts.insertLog.run(
      log.jobId,
      log.attempt,
      log.at,
      log.level,
      log.message,
      json(log.fields),
      log.stream ?? 'log',
    );
  }
  for (const p of batch.progress ?? []) stmts.setProgress.run(p.done, p.total, p.jobId, p.attempt);

  const successes = completions.filter((c) => c.outcome === 'succeeded');
  const succeeded = new Set<string>();
  if (successes.length > 0) {
    const rows = successes.map((c) => `[${Number(c.id)},${c.attempt},${JSON.stringify(c.output ?? null)}]`);
    for (const r of stmts.succeedBatch.all(now, `[${rows.join(',')}]`) as { id: number }[])
      succeeded.add(String(r.id));
  }

  const results: CompletionResult[] = [];
  const finished: string[] = [];
  const requeued = new Set<string>();
  let earliest = Number.POSITIVE_INFINITY;
  for (const c of completions) {
    if (c.outcome === 'succeeded' ? succeeded.has(c.id) : applyCompletion(ctx, c, now)) {
      if (
        c.outcome === 'succeeded' ||
        c.outcome === 'cancelled' ||
        (c.outcome === 'failed' && c.retryDelayMs === null)
      ) {
        finished.push(c.id);
        results.push({ id: c.id, applied: true, state: c.outcome === 'failed' ? 'failed' : c.outcome });
        if (c.flow) ctx.flowJobFinished(flowOutcome(c.flow, c));
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
  ctx.flushFlowJobs();
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

interface ExpiredRow extends RetryColumns {
  id: number;
  flow_id: number | null;
  flow_step: string | null;
  flow_role: 'run' | 'revert' | null;
  attempt: number;
  attempt_base: number;
  worker_id: string | null;
  cancel_requested: number;
  queue: string;
}

export function expireLeases(ctx: WriteContext, req: ExpireLeasesRequest): number {
  const now = ctx.now();
  const rows = ctx.stmts.expiredLeases.all(now, req.limit) as ExpiredRow[];
  const finished: string[] = [];
  const requeued = new Set<string>();
  let earliest = Number.POSITIVE_INFINITY;
  for (const row of rows) {
    const id = String(row.id);
    const error: SerializedError = {
      name: 'LeaseLostError',
      code: 'LEASE_LOST',
      message: `lease expired: worker ${row.worker_id ?? '?'} stopped renewing it (attempt ${row.attempt})`,
    };
    event(ctx, id, now, 'lease_expired', row.attempt, row.worker_id);
    const workerId = row.worker_id ?? 'sweeper';
    const flow = toFlowRef(row);
    if (row.cancel_requested === 1) {
      const c: Completion = {
        id,
        attempt: row.attempt,
        workerId,
        outcome: 'cancelled',
        reason: 'cancel requested',
      };
      applyCompletion(ctx, c, now);
      finished.push(id);
      if (flow) ctx.flowJobFinished(flowOutcome(flow, c));
      continue;
    }
    const retryDelayMs = req.decide({
      attemptsUsed: row.attempt - row.attempt_base,
      retry: toRetryPolicy(row),
    });
    const c: Completion = { id, attempt: row.attempt, workerId, outcome: 'failed', error, retryDelayMs };
    applyCompletion(ctx, c, now);
    if (retryDelayMs === null) {
      finished.push(id);
      if (flow) ctx.flowJobFinished(flowOutcome(flow, c));
    } else {
      requeued.add(row.queue);
      earliest = Math.min(earliest, now + retryDelayMs);
    }
  }
  if (finished.length > 0) ctx.announce({ type: 'jobs-finished', ids: finished });
  // Wake workers when the retry is due, not now (they would find nothing and wait for a poll).
  if (requeued.size > 0)
    ctx.announce({ type: 'jobs-available', queues: [...requeued], earliestRunAt: earliest });
  return rows.length;
}

export { toRowId };
