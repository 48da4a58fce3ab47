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
import type { Db, Queryable } from './db.js';
import { admit } from './placement.js';

/** One transaction's view: the connection, the injected time (null: the database's), announcements. */
export interface TxContext {
  db: Db;
  tx: Queryable;
  now: number | null;
  /** Published after commit; `notify: false` for inserts, which the insert trigger already NOTIFYs. */
  announce: (notification: StoreNotification, notify?: boolean) => void;
  /**
   * Queues a flow job that ended for good; the flows move on (flows.ts) at `flushFlowJobs`, or at
   * the latest when the transaction ends.
   */
  flowJobFinished: (event: FlowJobOutcome) => Promise<void>;
  /** Moves the queued flows on now (completions do, so that a claim in the same transaction sees the next steps). */
  flushFlowJobs: () => Promise<void>;
}

const json = (value: unknown): string | null =>
  value === undefined || value === null ? null : JSON.stringify(value);

async function event(
  ctx: TxContext,
  jobId: string | number,
  type: JobEventType,
  attempt: number | null,
  workerId: string | null,
  detail: Record<string, unknown> | null = null,
): Promise<void> {
  await ctx.db.run(ctx.tx, 'insertEvent', [jobId, await nowOf(ctx), type, attempt, workerId, json(detail)]);
}

/** The transaction's time (an injected clock's, or the database's `now()`). */
export async function nowOf(ctx: TxContext): Promise<number> {
  if (ctx.now !== null) return ctx.now;
  const [row] = await ctx.db.run<{ now: number }>(ctx.tx, 'now', [null]);
  ctx.now = row?.now ?? Date.now();
  return ctx.now;
}

async function dedupHolder(ctx: TxContext, key: string): Promise<string | null> {
  await ctx.db.run(ctx.tx, 'touchDedup', [key]);
  const [holder] = await ctx.db.run<{ jobId: number; expiresAt: number | null; state: string | null }>(
    ctx.tx,
    'lockDedup',
    [key],
  );
  return holder && holdsDedupKey(holder, await nowOf(ctx)) ? String(holder.jobId) : null;
}

/** Inserts jobs; those of `admission` queues (with a `maxPending` limit) are admitted first (placement.ts). */
export async function insertJobs(
  ctx: TxContext,
  jobs: readonly NewJob[],
  admission?: ReadonlySet<string>,
): Promise<InsertedJob[]> {
  if (admission && admission.size > 0 && jobs.some((j) => admission.has(j.queue)))
    await admit(ctx, jobs, admission);
  const out: InsertedJob[] = [];
  const queues = new Set<string>();
  let earliest = Number.POSITIVE_INFINITY;
  for (let i = 0; i < jobs.length; ) {
    const job = jobs[i] as NewJob;
    // 0 means due now; only a delay needs the time (a round trip when the database keeps it).
    const due = job.runAt ?? (job.delayMs ? (await nowOf(ctx)) + job.delayMs : 0);
    if (job.dedup) {
      const held = await dedupHolder(ctx, job.dedup.key);
      if (held !== null) {
        out.push({ id: held, created: false });
        i++;
        continue;
      }
    }
    queues.add(job.queue);
    earliest = Math.min(earliest, due);
    let end = i + 1;
    if (!job.dedup)
      while (end < jobs.length && !jobs[end]?.dedup && sameTemplate(job, jobs[end] as NewJob)) end++;
    if (end - i > 1) {
      const run = jobs.slice(i, end);
      const [row] = await ctx.db.run<{ ids: string | null }>(ctx.tx, 'insertJobsSharing', [
        ctx.now,
        job.task,
        job.queue,
        job.priority,
        job.runAt ?? null,
        job.delayMs ?? 0,
        ...retryParams(job.retry),
        job.timeoutMs,
        json(job.metadata),
        JSON.stringify(run.map((j) => j.input ?? null)),
        json(job.placement),
        job.concurrency?.key ?? null,
        job.concurrency?.limit ?? null,
        json(job.sandbox ?? null),
      ]);
      const ids = row?.ids ? row.ids.split(',') : [];
      if (ids.length !== run.length) throw new StoreError(`inserted ${ids.length} of ${run.length} jobs`);
      for (const id of ids) out.push({ id, created: true });
    } else {
      const [row] = await ctx.db.run<{ id: number }>(ctx.tx, 'insertJob', [
        ctx.now,
        job.task,
        job.queue,
        JSON.stringify(job.input ?? null),
        job.priority,
        job.runAt ?? null,
        job.delayMs ?? 0,
        ...retryParams(job.retry),
        job.timeoutMs,
        json(job.metadata),
        job.dedup?.key ?? null,
        json(job.placement),
        job.concurrency?.key ?? null,
        job.concurrency?.limit ?? null,
        json(job.sandbox ?? null),
      ]);
      const id = row?.id as number;
      if (job.dedup) {
        const expires = job.dedup.windowMs === null ? null : (await nowOf(ctx)) + job.dedup.windowMs;
        await ctx.db.run(ctx.tx, 'setDedup', [job.dedup.key, id, expires]);
      }
      out.push({ id: String(id), created: true });
    }
    i = end;
  }
  // Other processes hear of these through the insert trigger's NOTIFY; this one at once.
  if (queues.size > 0)
    ctx.announce({ type: 'jobs-available', queues: [...queues], earliestRunAt: earliest }, false);
  return out;
}

export async function claimJobs(ctx: TxContext, req: ClaimRequest): Promise<ClaimedJob[]> {
  if (req.limit <= 0 || req.queues.length === 0 || req.tasks.length === 0) return [];
  const rows = await ctx.db.run<ClaimRow>(ctx.tx, 'claim', [
    ctx.now,
    req.workerId,
    req.leaseMs,
    req.queues,
    req.tasks,
    req.limit,
  ]);
  const claimed = rows.map(toClaimedJob);
  claimed.sort((a, b) => b.priority - a.priority || Number(a.id) - Number(b.id));
  return claimed;
}

/** The lines of a batch to store: each job's count moves on, and lines past its cap are dropped. */
async function storedLogs(ctx: TxContext, logs: readonly LogWrite[]): Promise<readonly LogWrite[]> {
  if (logs.length === 0) return logs;
  const counts = linesPerJob(logs);
  const rows = await ctx.db.run<{ id: number; before: number }>(ctx.tx, 'countLogLines', [
    [...counts.keys()],
    [...counts.values()],
  ]);
  return capLogs(logs, new Map(rows.map((r) => [String(r.id), r.before])));
}

/** A batch the one-statement path (`succeedAndClaim`) can write: plain successes, nothing else. */
export function isPlainSuccessBatch(batch: CompletionBatch): boolean {
  return (
    (batch.logs?.length ?? 0) === 0 &&
    (batch.progress?.length ?? 0) === 0 &&
    batch.completions.every((c) => c.outcome === 'succeeded' && !c.flow && !c.added?.length)
  );
}

/**
 * Writes a plain-success batch and claims the next jobs with one autocommit statement (one round
 * trip, where a transaction takes five). `channel` gets the `f:` NOTIFY. Stale completions (none
 * in the normal case) are recorded afterwards by `recordStale`, in a transaction of their own.
 */
export async function succeedAndClaim(
  ctx: TxContext,
  batch: CompletionBatch,
  req: ClaimRequest,
  channel: string,
): Promise<{ results: CompletionResult[]; jobs: ClaimedJob[]; stale: Completion[] }> {
  const { completions } = batch;
  const claiming = req.limit > 0 && req.queues.length > 0 && req.tasks.length > 0;
  const rows = await ctx.db.run<ClaimRow & { done_ids: string | null }>(ctx.tx, 'succeedAndClaim', [
    ctx.now,
    req.workerId,
    req.leaseMs,
    req.queues,
    req.tasks,
    claiming ? req.limit : 0,
    completions.map((c) => c.id),
    completions.map((c) => c.attempt),
    completions.map((c) => (c.outcome === 'succeeded' ? JSON.stringify(c.output ?? null) : 'null')),
    channel,
  ]);
  const doneIds = rows.find((r) => r.done_ids !== null)?.done_ids;
  const applied = new Set(doneIds ? doneIds.split(',') : []);
  const results: CompletionResult[] = [];
  const stale: Completion[] = [];
  for (const c of completions) {
    if (applied.has(c.id)) results.push({ id: c.id, applied: true, state: 'succeeded' });
    else stale.push(c);
  }
  if (applied.size > 0) ctx.announce({ type: 'jobs-finished', ids: [...applied] }, false);
  const jobs = rows.filter((r) => r.id !== null).map(toClaimedJob);
  jobs.sort((a, b) => b.priority - a.priority || Number(a.id) - Number(b.id));
  return { results, jobs, stale };
}

/** Records completions that were not applied (`stale_completion` events); returns their results. */
export async function recordStale(ctx: TxContext, stale: readonly Completion[]): Promise<CompletionResult[]> {
  const results: CompletionResult[] = [];
  for (const c of stale) {
    const [current] = await ctx.db.run<{ state: string; attempt: number }>(ctx.tx, 'jobStateAttempt', [c.id]);
    if (current) {
      await event(ctx, c.id, 'stale_completion', c.attempt, c.workerId, {
        outcome: c.outcome,
        currentState: current.state,
        currentAttempt: current.attempt,
      });
    }
    results.push({ id: c.id, applied: false, state: (current?.state as CompletionResult['state']) ?? null });
  }
  return results;
}

/** Applies one completion other than success; returns the job's queue when applied. */
async function applyCompletion(
  ctx: TxContext,
  c: Exclude<Completion, { outcome: 'succeeded' }>,
): Promise<string | null> {
  const { db, tx } = ctx;
  let rows: { queue: string }[];
  switch (c.outcome) {
    case 'failed':
      if (c.retryDelayMs === null) {
        rows = await db.run(tx, 'fail', [ctx.now, JSON.stringify(c.error), c.id, c.attempt]);
        if (rows.length)
          await event(ctx, c.id, 'failed', c.attempt, c.workerId, { error: summarizeError(c.error) });
      } else {
        await db.run(tx, 'keepStartEvent', [c.id, c.attempt]);
        rows = await db.run(tx, 'retryLater', [
          ctx.now,
          JSON.stringify(c.error),
          c.retryDelayMs,
          c.id,
          c.attempt,
        ]);
        if (rows.length) {
          await event(ctx, c.id, 'retry_scheduled', c.attempt, c.workerId, {
            error: summarizeError(c.error),
            delayMs: c.retryDelayMs,
            runAt: (await nowOf(ctx)) + c.retryDelayMs,
          });
        }
      }
      break;
    case 'cancelled':
      rows = await db.run(tx, 'cancelRunning', [
        ctx.now,
        JSON.stringify(cancelledError(c.reason)),
        c.id,
        c.attempt,
      ]);
      if (rows.length) await event(ctx, c.id, 'cancelled', c.attempt, c.workerId, { reason: c.reason });
      break;
    case 'released':
      await db.run(tx, 'keepStartEvent', [c.id, c.attempt]);
      rows = await db.run(tx, 'release', [ctx.now, c.id, c.attempt]);
      if (rows.length) await event(ctx, c.id, 'released', c.attempt, c.workerId, { reason: c.reason });
      break;
  }
  return rows[0]?.queue ?? null;
}

export async function completeJobs(ctx: TxContext, batch: CompletionBatch): Promise<CompletionResult[]> {
  const { db, tx } = ctx;
  const requeueing = requeueingIds(batch.completions);
  const completions =
    requeueing.length === 0
      ? batch.completions
      : honourCancels(
          batch.completions,
          new Set(
            (await db.run<{ id: number }>(tx, 'cancelRequestedOf', [requeueing])).map((r) => String(r.id)),
          ),
        );
  for (const p of batch.progress ?? [])
    await db.run(tx, 'setProgress', [p.done, p.total, p.jobId, p.attempt]);

  // Several workers may finish steps of one flow at once: each batch takes its flows' locks first,
  // in id order, before any job row, so two batches never wait on each other in a cycle.
  const flows = [...new Set(completions.filter(endsForGood).map((c) => Number(c.flow?.id)))];
  if (flows.length > 0) await db.run(tx, 'lockFlows', [flows.sort((a, b) => a - b)]);
  // Log counts lock their jobs' rows: after the flows' locks, as every job row is.
  const logs = await storedLogs(ctx, batch.logs ?? []);
  if (logs.length > 0) {
    await db.run(tx, 'insertLogs', [
      logs.map((l) => l.jobId),
      logs.map((l) => l.attempt),
      logs.map((l) => l.at),
      logs.map((l) => l.level),
      logs.map((l) => l.message),
      logs.map((l) => json(l.fields)),
      logs.map((l) => l.stream ?? 'log'),
    ]);
  }

  const successes = completions.filter((c) => c.outcome === 'succeeded');
  const succeeded = new Set<string>();
  if (successes.length > 0) {
    const rows = await db.run<{ id: number }>(tx, 'succeedBatch', [
      ctx.now,
      successes.map((c) => c.id),
      successes.map((c) => c.attempt),
      successes.map((c) => JSON.stringify(c.output ?? null)),
    ]);
    for (const r of rows) succeeded.add(String(r.id));
  }

  const results: CompletionResult[] = [];
  const finished: string[] = [];
  const requeued = new Set<string>();
  let earliest = Number.POSITIVE_INFINITY;
  for (const c of completions) {
    const queue =
      c.outcome === 'succeeded' ? (succeeded.has(c.id) ? '' : null) : await applyCompletion(ctx, c);
    if (queue !== null) {
      const requeue = c.outcome === 'released' || (c.outcome === 'failed' && c.retryDelayMs !== null);
      if (requeue) {
        requeued.add(queue);
        const delay = c.outcome === 'failed' ? (c.retryDelayMs ?? 0) : 0;
        earliest = Math.min(earliest, delay > 0 ? (await nowOf(ctx)) + delay : 0);
      } else {
        finished.push(c.id);
        if (c.flow) await ctx.flowJobFinished(flowOutcome(c.flow, c));
      }
      results.push({
        id: c.id,
        applied: true,
        state: requeue ? 'pending' : c.outcome === 'failed' ? 'failed' : c.outcome,
      });
      continue;
    }
    results.push(...(await recordStale(ctx, [c])));
  }
  if (finished.length > 0) ctx.announce({ type: 'jobs-finished', ids: finished });
  if (requeued.size > 0)
    ctx.announce({ type: 'jobs-available', queues: [...requeued], earliestRunAt: earliest });
  await ctx.flushFlowJobs();
  return results;
}

/** A completion of a flow's job that, when applied, ends the job for good. */
function endsForGood(c: Completion): boolean {
  if (!c.flow) return false;
  return (
    c.outcome === 'succeeded' ||
    c.outcome === 'cancelled' ||
    (c.outcome === 'failed' && c.retryDelayMs === null)
  );
}

export async function extendLeases(ctx: TxContext, req: ExtendLeasesRequest): Promise<ExtendLeasesResult> {
  if (req.jobs.length === 0) return { lost: [], cancelRequested: [] };
  const rows = await ctx.db.run<{ id: number; cancel_requested: number }>(ctx.tx, 'extendLeases', [
    ctx.now,
    req.leaseMs,
    req.jobs.map((j) => j.id),
    req.jobs.map((j) => j.attempt),
  ]);
  const held = new Map(rows.map((r) => [String(r.id), r.cancel_requested === 1]));
  return {
    lost: req.jobs.filter((j) => !held.has(j.id)).map((j) => j.id),
    cancelRequested: req.jobs.filter((j) => held.get(j.id) === true).map((j) => j.id),
  };
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

export async function expireLeases(ctx: TxContext, req: ExpireLeasesRequest): Promise<number> {
  const rows = await ctx.db.run<ExpiredRow>(ctx.tx, 'expiredLeases', [ctx.now, req.limit]);
  const finished: string[] = [];
  const requeued = new Set<string>();
  let earliest = Number.POSITIVE_INFINITY;
  for (const row of rows) {
    const id = String(row.id);
    const workerId = row.worker_id ?? 'sweeper';
    const flow = toFlowRef(row);
    await event(ctx, id, 'lease_expired', row.attempt, row.worker_id);
    if (row.cancel_requested === 1) {
      const c: Completion = {
        id,
        attempt: row.attempt,
        workerId,
        outcome: 'cancelled',
        reason: 'cancel requested',
      };
      await applyCompletion(ctx, c);
      finished.push(id);
      if (flow) await ctx.flowJobFinished(flowOutcome(flow, c));
      continue;
    }
    const retryDelayMs = req.decide({
      attemptsUsed: row.attempt - row.attempt_base,
      retry: toRetryPolicy(row),
    });
    const error: SerializedError = {
      name: 'LeaseLostError',
      code: 'LEASE_LOST',
      message: `lease expired: worker ${row.worker_id ?? '?'} stopped renewing it (attempt ${row.attempt})`,
    };
    const c: Completion = { id, attempt: row.attempt, workerId, outcome: 'failed', error, retryDelayMs };
    await applyCompletion(ctx, c);
    if (retryDelayMs === null) {
      finished.push(id);
      if (flow) await ctx.flowJobFinished(flowOutcome(flow, c));
    } else {
      requeued.add(row.queue);
      earliest = Math.min(earliest, (await nowOf(ctx)) + retryDelayMs);
    }
  }
  if (finished.length > 0) ctx.announce({ type: 'jobs-finished', ids: finished });
  // Wake workers when the retry is due, not now (they would find nothing and wait for a poll).
  if (requeued.size > 0)
    ctx.announce({ type: 'jobs-available', queues: [...requeued], earliestRunAt: earliest });
  return rows.length;
}
