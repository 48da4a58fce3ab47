import { ConflictError, jobNotFound } from '../../core/errors.js';
import type { JobRecord } from '../../core/job.js';
import { type JobRow, toFlowRef, toJobRecord, toRowId } from '../rows.js';
import { cancelledError, cancelledFlowJob, flowJobRetry } from '../rules.js';
import type { WriteContext } from './write.js';

function loadRow(ctx: WriteContext, id: string): JobRow {
  const rowId = toRowId(id);
  const row = rowId === null ? undefined : (ctx.stmts.getJob.get(rowId) as JobRow | undefined);
  if (!row) throw jobNotFound(id);
  return row;
}

export function cancelJob(ctx: WriteContext, id: string, reason: string): JobRecord {
  const row = loadRow(ctx, id);
  const now = ctx.now();
  if (row.state === 'pending') {
    const error = JSON.stringify(cancelledError(reason));
    ctx.stmts.cancelPending.run(error, now, row.id);
    ctx.stmts.insertEvent.run(
      row.id,
      now,
      'cancelled',
      row.attempt || null,
      null,
      JSON.stringify({ reason }),
    );
    ctx.announce({ type: 'jobs-finished', ids: [id] });
    const flow = toFlowRef(row);
    if (flow) ctx.flowJobFinished(cancelledFlowJob(flow, reason));
  } else if (row.state === 'running') {
    if (row.cancel_requested === 0) {
      ctx.stmts.requestCancel.run(row.id);
      ctx.stmts.insertEvent.run(
        row.id,
        now,
        'cancel_requested',
        row.attempt,
        row.worker_id,
        JSON.stringify({ reason }),
      );
      ctx.announce({ type: 'cancel-requested', ids: [id] });
    }
  } else {
    throw new ConflictError(
      `job ${id} is already ${row.state}; only pending or running jobs can be cancelled`,
    );
  }
  return toJobRecord(loadRow(ctx, id));
}

export function retryJob(ctx: WriteContext, id: string): JobRecord {
  const row = loadRow(ctx, id);
  if (row.state !== 'failed' && row.state !== 'cancelled') {
    throw new ConflictError(`job ${id} is ${row.state}; only failed or cancelled jobs can be retried`);
  }
  if (row.flow_id !== null) throw flowJobRetry(id, row);
  const now = ctx.now();
  ctx.stmts.keepStartEventOfFinished.run(row.id);
  ctx.stmts.retryFinished.run(now, row.id);
  ctx.stmts.insertEvent.run(
    row.id,
    now,
    'retried',
    row.attempt,
    null,
    JSON.stringify({ previousState: row.state }),
  );
  ctx.announce({ type: 'jobs-available', queues: [row.queue], earliestRunAt: now });
  return toJobRecord(loadRow(ctx, id));
}

export function deleteFinishedJobs(ctx: WriteContext, before: number, limit: number): number {
  const ids = (ctx.stmts.finishedBefore.all(before, limit) as { id: number }[]).map((r) => r.id);
  // Jobs of flows go with their flow, once it is finished and old enough.
  const flows = (ctx.stmts.flowsFinishedBefore.all(before, limit) as { id: number }[]).map((r) => r.id);
  if (flows.length > 0) {
    const list = JSON.stringify(flows);
    for (const r of ctx.stmts.jobsOfFlows.all(list) as { id: number }[]) ids.push(r.id);
    ctx.stmts.deleteFlowEdges.run(list);
    ctx.stmts.deleteFlowSteps.run(list);
    ctx.stmts.deleteFlows.run(list);
  }
  if (ids.length === 0) return flows.length;
  const list = JSON.stringify(ids);
  ctx.stmts.deleteEvents.run(list);
  ctx.stmts.deleteLogs.run(list);
  ctx.stmts.deleteDedup.run(list);
  ctx.stmts.deleteJobs.run(list);
  return ids.length;
}
