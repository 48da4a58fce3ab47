import { QueueFullError } from '../../core/errors.js';
import {
  type PlacedCandidate,
  type Placement,
  pickPlaced,
  scanBudget,
  type WorkerOffer,
} from '../../core/placement.js';
import { type QueueRow, rateAllowance } from '../placement-rows.js';
import { cancelledError } from '../rules.js';
import type { ClaimRequest, NewJob } from '../types.js';
import type { PlacementStatements } from './placement-sql.js';
import type { WriteContext } from './write.js';

const NO_OFFER: WorkerOffer = { free: {}, labels: {} };

/** Each requested queue's rate window: starts allowed now (Infinity when unlimited). */
export function rateWindows(
  p: PlacementStatements,
  queues: readonly string[],
  now: number,
): Map<string, { allowance: number; windowStart: number; used: number }> {
  const out = new Map<string, { allowance: number; windowStart: number; used: number }>();
  for (const row of p.rateLimited.all(JSON.stringify(queues)) as QueueRow[])
    out.set(row.name, rateAllowance(row, now));
  return out;
}

/** Records the starts claimed from rate-limited queues in their windows. */
export function spendRateWindows(
  p: PlacementStatements,
  windows: Map<string, { allowance: number; windowStart: number; used: number }>,
  claimedPerQueue: Map<string, number>,
): void {
  for (const [queue, w] of windows) {
    const n = claimedPerQueue.get(queue) ?? 0;
    if (n > 0) p.setWindow.run(w.windowStart, w.used + n, queue);
  }
}

interface CandidateRow {
  id: number;
  priority: number;
  run_at: number;
  placement: string | null;
  concurrency_key: string | null;
  concurrency_limit: number | null;
}

/**
 * Chooses placed jobs (resources, labels, concurrency keys) for a claim: candidates of every
 * queue in claim order, picked greedily against what the worker has free, each key's running
 * count and each queue's rate allowance. Returns the ids, in claim order.
 */
export function pickPlacedJobs(
  p: PlacementStatements,
  req: ClaimRequest,
  now: number,
  limit: number,
  allowance: (queue: string) => number,
): { ids: number[]; perQueue: Map<string, number> } {
  const tasks = JSON.stringify(req.tasks);
  const rows: (CandidateRow & { queue: string })[] = [];
  for (const queue of req.queues) {
    if (allowance(queue) <= 0) continue;
    for (const row of p.placedCandidates.all(queue, now, tasks, scanBudget(limit)) as CandidateRow[])
      rows.push({ ...row, queue });
  }
  if (rows.length === 0) return { ids: [], perQueue: new Map() };
  rows.sort((a, b) => b.priority - a.priority || a.run_at - b.run_at || a.id - b.id);
  const running = new Map<string, number>();
  for (const row of rows) {
    const key = row.concurrency_key;
    if (key !== null && !running.has(key)) running.set(key, p.runningOfKey.pluck().get(key) as number);
  }
  const candidates: PlacedCandidate[] = rows.map((r) => ({
    id: String(r.id),
    queue: r.queue,
    placement: r.placement === null ? null : (JSON.parse(r.placement) as Placement),
    concurrency:
      r.concurrency_key === null ? null : { key: r.concurrency_key, limit: r.concurrency_limit ?? 1 },
  }));
  const picked = pickPlaced(candidates, req.offer ?? NO_OFFER, running, limit, allowance);
  return { ids: picked.ids.map(Number), perQueue: picked.perQueue };
}

/**
 * Admission: jobs for queues with a `maxPending` limit. At the limit, `reject` throws
 * `QueueFullError` (nothing of the batch is inserted: the transaction rolls back);
 * `drop_lowest_priority` cancels the lowest-priority pending job outside flows (reason `shed`)
 * when the new job outranks it, else rejects the new job.
 */
export function admit(p: PlacementStatements, ctx: WriteContext, jobs: readonly NewJob[], now: number): void {
  const counts = new Map<string, { max: number; policy: string; pending: number }>();
  for (const job of jobs) {
    let limit = counts.get(job.queue);
    if (!limit) {
      const row = p.admission.get(job.queue) as { max_pending: number; shed_policy: string } | undefined;
      if (!row) continue;
      limit = { max: row.max_pending, policy: row.shed_policy, pending: 0 };
      limit.pending = p.pendingCount.pluck().get({ queue: job.queue, cap: row.max_pending + 1 }) as number;
      counts.set(job.queue, limit);
    }
    if (limit.pending < limit.max) {
      limit.pending++;
      continue;
    }
    if (limit.policy !== 'drop_lowest_priority') throw new QueueFullError(job.queue, limit.max);
    const lowest = p.lowestPending.get(job.queue) as { id: number; priority: number } | undefined;
    if (!lowest || lowest.priority >= job.priority) {
      throw new QueueFullError(
        job.queue,
        limit.max,
        `queue ${job.queue} is full (${limit.max} pending jobs) and none ranks below this job's priority ${job.priority}: submit later, with a higher priority, or raise the limit`,
      );
    }
    shed(ctx, lowest.id, job.queue, now);
  }
}

function shed(ctx: WriteContext, id: number, queue: string, now: number): void {
  const reason = 'shed';
  ctx.stmts.cancelPending.run(JSON.stringify(cancelledError(reason)), now, id);
  ctx.stmts.insertEvent.run(
    id,
    now,
    'cancelled',
    null,
    null,
    JSON.stringify({ reason, detail: `queue ${queue} was full and a higher-priority job arrived` }),
  );
  ctx.announce({ type: 'jobs-finished', ids: [String(id)] });
}
