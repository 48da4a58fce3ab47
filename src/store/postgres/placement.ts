import { QueueFullError } from '../../core/errors.js';
import type { ClaimedJob } from '../../core/job.js';
import { type PlacedCandidate, type Placement, pickPlaced, scanBudget } from '../../core/placement.js';
import { type QueueRow, rateAllowance } from '../placement-rows.js';
import { type ClaimRow, toClaimedJob } from '../rows.js';
import { cancelledError } from '../rules.js';
import type { ClaimRequest, NewJob } from '../types.js';
import { runPlacement } from './placement-sql.js';
import type { TxContext } from './write.js';

interface CandidateRow {
  id: number;
  queue: string;
  priority: number;
  run_at: number;
  placement?: string | null;
  concurrency_key?: string | null;
  concurrency_limit?: number | null;
}

const byClaimOrder = (a: CandidateRow, b: CandidateRow) =>
  b.priority - a.priority || a.run_at - b.run_at || a.id - b.id;

/**
 * The claim in a transaction, for what one statement cannot decide: placed jobs (resources, labels,
 * concurrency keys) of every requested queue, and plain jobs of the rate-limited ones. Locks the
 * rate windows, reads candidates with SKIP LOCKED, takes the concurrency keys' locks and counts
 * their running jobs, picks in claim order against the worker's offer, claims, and records the
 * starts in the windows. Returns the jobs and whether any placed candidate was seen.
 */
export async function claimInTransaction(
  ctx: TxContext,
  req: ClaimRequest,
  limited: readonly string[],
): Promise<{ jobs: ClaimedJob[]; sawPlaced: boolean }> {
  const { db, tx } = ctx;
  const windows = new Map<string, ReturnType<typeof rateAllowance>>();
  const now = ctx.now ?? Date.now();
  if (limited.length > 0) {
    const [clock] = await db.runText<{ now: number }>(
      tx,
      'SELECT coalesce($1::bigint, (extract(epoch from now()) * 1000)::bigint) AS now',
      [ctx.now],
    );
    for (const row of await runPlacement<QueueRow>(db, tx, 'lockRateWindows', [limited]))
      windows.set(row.name, rateAllowance(row, clock?.now ?? now));
  }
  const allowance = (queue: string) => windows.get(queue)?.allowance ?? Number.POSITIVE_INFINITY;
  const queues = req.queues.filter((q) => allowance(q) > 0);
  const placedRows = await runPlacement<CandidateRow>(db, tx, 'placedCandidates', [
    ctx.now,
    queues,
    req.tasks,
    scanBudget(req.limit),
  ]);
  placedRows.sort(byClaimOrder);
  const keys = [...new Set(placedRows.map((r) => r.concurrency_key).filter((k): k is string => !!k))];
  const running = new Map<string, number>();
  if (keys.length > 0) {
    keys.sort();
    await runPlacement(db, tx, 'lockKeys', [keys]);
    for (const row of await runPlacement<{ key: string; n: number }>(db, tx, 'runningOfKeys', [keys]))
      running.set(row.key, row.n);
  }
  const candidates: PlacedCandidate[] = placedRows.map((r) => ({
    id: String(r.id),
    queue: r.queue,
    placement: r.placement ? (JSON.parse(r.placement) as Placement) : null,
    concurrency: r.concurrency_key ? { key: r.concurrency_key, limit: r.concurrency_limit ?? 1 } : null,
  }));
  const picked = pickPlaced(candidates, req.offer ?? { free: {}, labels: {} }, running, req.limit, allowance);
  const ids = picked.ids.map(Number);
  const perQueue = picked.perQueue;
  // Plain jobs of the rate-limited queues, within what their windows allow.
  const left = req.limit - ids.length;
  const plainQueues = limited.filter((q) => req.queues.includes(q));
  if (left > 0 && plainQueues.length > 0) {
    const limits = plainQueues.map((q) => Math.max(0, Math.min(left, allowance(q) - (perQueue.get(q) ?? 0))));
    const plain = await runPlacement<CandidateRow>(db, tx, 'plainCandidates', [
      ctx.now,
      plainQueues,
      req.tasks,
      limits,
    ]);
    plain.sort(byClaimOrder);
    for (const c of plain.slice(0, left)) {
      ids.push(c.id);
      perQueue.set(c.queue, (perQueue.get(c.queue) ?? 0) + 1);
    }
  }
  for (const [queue, w] of windows) {
    const n = perQueue.get(queue) ?? 0;
    if (n > 0) await runPlacement(db, tx, 'setWindow', [queue, w.windowStart, w.used + n]);
  }
  if (ids.length === 0) {
    // None taken: placed jobs may still wait (their key at its limit, or not fitting here).
    const [any] = await runPlacement<{ found: boolean }>(db, tx, 'anyPlaced', [ctx.now, req.queues]);
    return { jobs: [], sawPlaced: placedRows.length > 0 || any?.found === true };
  }
  const rows = await runPlacement<ClaimRow>(db, tx, 'claimIds', [ctx.now, req.workerId, req.leaseMs, ids]);
  return { jobs: rows.map(toClaimedJob), sawPlaced: true };
}

/**
 * Admission for queues with a `maxPending` limit, before their jobs are inserted (in the same
 * transaction; the queue's row stays locked until commit, so concurrent submits count in turn).
 * At the limit: `reject` throws `QueueFullError`; `drop_lowest_priority` cancels the lowest-priority
 * pending job outside flows (reason `shed`) when the new job outranks it, else rejects the new job.
 */
export async function admit(
  ctx: TxContext,
  jobs: readonly NewJob[],
  limitedQueues: ReadonlySet<string>,
): Promise<void> {
  const counts = new Map<string, { max: number; policy: string; pending: number } | null>();
  for (const job of jobs) {
    if (!limitedQueues.has(job.queue)) continue;
    let limit = counts.get(job.queue);
    if (limit === undefined) {
      const [row] = await runPlacement<{ max_pending: number; shed_policy: string }>(
        ctx.db,
        ctx.tx,
        'lockAdmission',
        [job.queue],
      );
      limit = null;
      if (row) {
        const [count] = await runPlacement<{ n: number }>(ctx.db, ctx.tx, 'pendingCount', [
          job.queue,
          row.max_pending + 1,
        ]);
        limit = { max: row.max_pending, policy: row.shed_policy, pending: Number(count?.n ?? 0) };
      }
      counts.set(job.queue, limit);
    }
    if (!limit) continue;
    if (limit.pending < limit.max) {
      limit.pending++;
      continue;
    }
    if (limit.policy !== 'drop_lowest_priority') throw new QueueFullError(job.queue, limit.max);
    const [lowest] = await runPlacement<{ id: number; priority: number }>(ctx.db, ctx.tx, 'lowestPending', [
      job.queue,
    ]);
    if (!lowest || lowest.priority >= job.priority) {
      throw new QueueFullError(
        job.queue,
        limit.max,
        `queue ${job.queue} is full (${limit.max} pending jobs) and none ranks below this job's priority ${job.priority}: submit later, with a higher priority, or raise the limit`,
      );
    }
    await runPlacement(ctx.db, ctx.tx, 'shed', [
      ctx.now,
      lowest.id,
      JSON.stringify(cancelledError('shed')),
      JSON.stringify({
        reason: 'shed',
        detail: `queue ${job.queue} was full and a higher-priority job arrived`,
      }),
    ]);
    ctx.announce({ type: 'jobs-finished', ids: [String(lowest.id)] });
  }
}
