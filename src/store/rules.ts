import { ConflictError, type SerializedError, ValidationError } from '../core/errors.js';
import type { JobFlowRef } from '../core/job.js';
import type { FlowJobOutcome } from '../flow/engine.js';
import { toRowId } from './rows.js';
import type { Completion, LogWrite, NewJob } from './types.js';

/** Rules both stores apply the same way, kept in one place. */

/** True when two jobs differ only in their input: they can share one insert statement. */
export function sameTemplate(a: NewJob, b: NewJob): boolean {
  return (
    a.task === b.task &&
    a.queue === b.queue &&
    a.priority === b.priority &&
    a.runAt === b.runAt &&
    a.delayMs === b.delayMs &&
    a.timeoutMs === b.timeoutMs &&
    a.metadata === b.metadata &&
    (a.placement ?? null) === (b.placement ?? null) &&
    (a.concurrency ?? null) === (b.concurrency ?? null) &&
    (a.sandbox ?? null) === (b.sandbox ?? null) &&
    (a.retry === b.retry || JSON.stringify(a.retry) === JSON.stringify(b.retry))
  );
}

/**
 * Whether a dedup key's holder still holds it: for its window, or (no window) while the job is
 * unfinished. A holder whose job is gone (retention) holds nothing.
 */
export function holdsDedupKey(
  holder: { expiresAt: number | null; state: string | null },
  now: number,
): boolean {
  if (holder.state === null) return false;
  return holder.expiresAt === null
    ? holder.state === 'pending' || holder.state === 'running'
    : holder.expiresAt > now;
}

/** The error stored with a cancelled job. */
export function cancelledError(reason: string): SerializedError {
  return { name: 'JobCancelledError', code: 'JOB_CANCELLED', message: reason };
}

/** An error as recorded in an event's detail: no stack. */
export function summarizeError(e: SerializedError): { name: string; message: string; code?: string } {
  return { name: e.name, message: e.message, ...(e.code ? { code: e.code } : {}) };
}

/** List cursors: opaque to callers, the last id seen inside. */
export function encodeCursor(id: number): string {
  return Buffer.from(`j:${id}`).toString('base64url');
}

export function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString();
  const id = text.startsWith('j:') ? toRowId(text.slice(2)) : null;
  if (id === null) {
    throw new ValidationError('cursor is not one this store returned', [
      { path: 'cursor', message: 'invalid cursor' },
    ]);
  }
  return id;
}

/** A flow's jobs are not retried one by one: the flow decides what runs. */
export function flowJobRetry(id: string, row: { flow_id: number | string | null; flow_step: string | null }) {
  return new ConflictError(
    `job ${id} is step ${row.flow_step ?? '?'} of flow ${row.flow_id}; its flow decides whether it runs again (submit the flow again to rerun it)`,
  );
}

/** A final completion of a flow's job, as the flow engine takes it. */
export function flowOutcome(flow: JobFlowRef, c: Completion): FlowJobOutcome {
  const base = { flowId: flow.id, step: flow.step, role: flow.role };
  if (c.outcome === 'succeeded')
    return { ...base, outcome: 'succeeded', output: c.output, added: c.added ?? [] };
  if (c.outcome === 'failed') return { ...base, outcome: 'failed', error: c.error };
  return cancelledFlowJob(flow, c.outcome === 'cancelled' ? c.reason : 'released');
}

/** A flow's job cancelled for good, as the flow engine takes it. */
export function cancelledFlowJob(flow: JobFlowRef, reason: string): FlowJobOutcome {
  return {
    flowId: flow.id,
    step: flow.step,
    role: flow.role,
    outcome: 'cancelled',
    error: cancelledError(reason),
  };
}

/** Ids of the completions that would put their job back to pending: a retry, or a hand-back. */
export function requeueingIds(completions: readonly Completion[]): string[] {
  return completions
    .filter((c) => c.outcome === 'released' || (c.outcome === 'failed' && c.retryDelayMs !== null))
    .map((c) => c.id);
}

/**
 * A job whose cancel was requested is not started again: a completion that would retry it or hand
 * it back ends it cancelled instead (so a cancelled flow's running step cannot come back as a new attempt).
 */
export function honourCancels(
  completions: readonly Completion[],
  cancelRequested: ReadonlySet<string>,
): readonly Completion[] {
  if (cancelRequested.size === 0) return completions;
  return completions.map((c) =>
    cancelRequested.has(c.id) && c.outcome !== 'succeeded' && c.outcome !== 'cancelled'
      ? {
          id: c.id,
          attempt: c.attempt,
          workerId: c.workerId,
          flow: c.flow,
          outcome: 'cancelled',
          reason: 'cancel requested',
        }
      : c,
  );
}

/** Log lines a job keeps over all its attempts; later ones are counted and dropped, with one marker line. */
export const MAX_LOG_LINES_PER_JOB = 10_000;

/**
 * The lines of a batch to store, given how many lines each job had written before it (`before`):
 * a job's lines past the cap are dropped, and the first one past it becomes a marker.
 */
export function capLogs(
  logs: readonly LogWrite[],
  before: ReadonlyMap<string, number>,
  cap = MAX_LOG_LINES_PER_JOB,
): LogWrite[] {
  const seen = new Map(before);
  const out: LogWrite[] = [];
  for (const log of logs) {
    const n = seen.get(log.jobId) ?? 0;
    seen.set(log.jobId, n + 1);
    if (n < cap) out.push(log);
    else if (n === cap) {
      out.push({
        jobId: log.jobId,
        attempt: log.attempt,
        at: log.at,
        level: 'warn',
        stream: 'log',
        message: `log truncated: more than ${cap} lines for this job; later lines are not stored`,
        fields: null,
      });
    }
  }
  return out;
}

/** Lines per job in a batch, in first-seen order. */
export function linesPerJob(logs: readonly LogWrite[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const log of logs) counts.set(log.jobId, (counts.get(log.jobId) ?? 0) + 1);
  return counts;
}
