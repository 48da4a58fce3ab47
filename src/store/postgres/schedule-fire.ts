import type { NewFlow } from '../../flow/types.js';
import type { FireResult, NewScheduleRun, ScheduleFire, ScheduleState } from '../../schedule/types.js';
import { toRowId } from '../rows.js';
import { insertFlow } from './flows.js';
import { runSchedule } from './schedule-sql.js';
import { nowOf, type TxContext } from './write.js';

/**
 * Fires schedules, a batch in one transaction and a handful of statements whatever its size: the
 * schedules are locked in id order (so two coordinators' batches never deadlock) and their fences
 * checked; every run of the fires that hold is inserted in one statement together with its job
 * (flows go through the flow insert path, one each); the schedules advance in one statement and
 * their events follow in one more.
 */
export async function fireSchedules(ctx: TxContext, fires: readonly ScheduleFire[]): Promise<FireResult[]> {
  const { db, tx } = ctx;
  const ids = [...new Set(fires.map((f) => toRowId(f.scheduleId)).filter((id) => id !== null))];
  ids.sort((a, b) => a - b);
  const locked =
    ids.length === 0
      ? []
      : await runSchedule<{ id: number; version: number; state: ScheduleState }>(db, tx, 'lockSchedules', [
          ids,
        ]);
  const current = new Map(locked.map((r) => [r.id, { version: r.version, state: r.state }]));

  const applied = fires.map((fire) => {
    const id = toRowId(fire.scheduleId);
    const schedule = id === null ? undefined : current.get(id);
    if (!schedule) return false;
    const { advance } = fire;
    if (!advance) return true;
    if (schedule.version !== advance.version || schedule.state !== 'active') return false;
    // A second fenced fire of the schedule in this batch fences on the version this one leaves.
    schedule.version++;
    schedule.state = advance.state;
    return true;
  });

  const runs = fires.flatMap((fire, i) =>
    applied[i] ? fire.runs.map((run) => ({ scheduleId: Number(fire.scheduleId), run })) : [],
  );
  const outcomes = await insertRuns(ctx, runs);
  await advanceSchedules(ctx, fires, applied);
  const events = fires.flatMap((fire, i) =>
    applied[i] ? (fire.events ?? []).map((e) => ({ scheduleId: Number(fire.scheduleId), ...e })) : [],
  );
  if (events.length > 0) {
    await runSchedule(db, tx, 'insertEvents', [
      ctx.now,
      events.map((e) => e.scheduleId),
      events.map((e) => e.type),
      events.map((e) => (e.data === null ? null : JSON.stringify(e.data))),
    ]);
  }

  let next = 0;
  return fires.map((fire, i) => ({
    scheduleId: fire.scheduleId,
    applied: applied[i] === true,
    runs: applied[i] ? fire.runs.map(() => outcomes[next++] as RunOutcome) : [],
  }));
}

type RunOutcome = FireResult['runs'][number];

interface RunRow {
  id: number;
  schedule_id: number;
  key: string;
  job_id: number | null;
}

const keyOf = (scheduleId: number, key: string) => `${scheduleId}\u0000${key}`;

/** A run as one record of insertRuns' JSON document (its job's columns when it has one). */
function toRunRecord({ scheduleId, run }: { scheduleId: number; run: NewScheduleRun }) {
  const base = {
    schedule_id: scheduleId,
    key: run.key,
    kind: run.kind,
    fire_time: run.fireTime,
    partition: run.partition,
    backfill_id: run.backfillId === null ? null : toRowId(run.backfillId),
    is_job: run.target.kind === 'job',
  };
  if (run.target.kind !== 'job') return base;
  const j = run.target.job;
  return {
    ...base,
    task: j.task,
    queue: j.queue,
    input: j.input ?? null,
    priority: j.priority,
    run_at: j.runAt ?? null,
    delay_ms: j.delayMs ?? 0,
    max_attempts: j.retry.maxAttempts,
    backoff_ms: j.retry.baseMs,
    factor: j.retry.factor,
    max_ms: j.retry.maxMs,
    jitter: j.retry.jitter,
    timeout_ms: j.timeoutMs,
    metadata: j.metadata,
  };
}

/** Inserts runs (each key at most once per schedule) with their jobs or flows; outcomes in order. */
async function insertRuns(
  ctx: TxContext,
  runs: readonly { scheduleId: number; run: NewScheduleRun }[],
): Promise<RunOutcome[]> {
  if (runs.length === 0) return [];
  const { db, tx } = ctx;
  const rows = await runSchedule<RunRow>(db, tx, 'insertRuns', [
    ctx.now,
    JSON.stringify(runs.map(toRunRecord)),
  ]);
  const inserted = new Map(rows.map((r) => [keyOf(r.schedule_id, r.key), r]));

  const outcomes: RunOutcome[] = [];
  const flows: { runId: number; flow: NewFlow; outcome: RunOutcome }[] = [];
  const taken: { scheduleId: number; key: string; outcome: RunOutcome }[] = [];
  const queues = new Set<string>();
  let earliest = Number.POSITIVE_INFINITY;
  for (const { scheduleId, run } of runs) {
    const key = keyOf(scheduleId, run.key);
    const row = inserted.get(key);
    // A key given twice in one batch is inserted once: the first run holds it.
    inserted.delete(key);
    const outcome: RunOutcome = { key: run.key, created: row !== undefined, jobId: null, flowId: null };
    outcomes.push(outcome);
    if (!row) taken.push({ scheduleId, key: run.key, outcome });
    else if (run.target.kind === 'flow') flows.push({ runId: row.id, flow: run.target.flow, outcome });
    else {
      outcome.jobId = String(row.job_id);
      const j = run.target.job;
      queues.add(j.queue);
      const due = j.runAt ?? (j.delayMs ? (await nowOf(ctx)) + j.delayMs : 0);
      earliest = Math.min(earliest, due);
    }
  }
  // Other processes hear of the jobs through the insert trigger's NOTIFY; this one at once.
  if (queues.size > 0)
    ctx.announce({ type: 'jobs-available', queues: [...queues], earliestRunAt: earliest }, false);

  for (const f of flows) f.outcome.flowId = (await insertFlow(ctx, f.flow)).id;
  if (flows.length > 0) {
    await runSchedule(db, tx, 'setRunFlows', [flows.map((f) => f.runId), flows.map((f) => f.outcome.flowId)]);
  }
  await describeTaken(ctx, taken);
  return outcomes;
}

/** Runs whose key was taken name the job or flow of the run that holds it. */
async function describeTaken(
  ctx: TxContext,
  taken: readonly { scheduleId: number; key: string; outcome: RunOutcome }[],
): Promise<void> {
  if (taken.length === 0) return;
  const rows = await runSchedule<{
    schedule_id: number;
    key: string;
    job_id: number | null;
    flow_id: number | null;
  }>(ctx.db, ctx.tx, 'runsByKey', [taken.map((t) => t.scheduleId), taken.map((t) => t.key)]);
  const holders = new Map(rows.map((r) => [keyOf(r.schedule_id, r.key), r]));
  for (const t of taken) {
    const holder = holders.get(keyOf(t.scheduleId, t.key));
    t.outcome.jobId = holder?.job_id == null ? null : String(holder.job_id);
    t.outcome.flowId = holder?.flow_id == null ? null : String(holder.flow_id);
  }
}

/** Applies the fenced fires that hold, one row per schedule (a schedule fired twice takes both). */
async function advanceSchedules(
  ctx: TxContext,
  fires: readonly ScheduleFire[],
  applied: readonly boolean[],
): Promise<void> {
  const merged = new Map<
    number,
    {
      next: number | null;
      wake: number | null;
      fired: number;
      last: number | null;
      state: ScheduleState;
      runtime: string | null;
      bump: number;
    }
  >();
  fires.forEach((fire, i) => {
    const a = fire.advance;
    if (!applied[i] || !a) return;
    const id = Number(fire.scheduleId);
    const prev = merged.get(id);
    merged.set(id, {
      next: a.nextFireAt,
      wake: a.wakeAt,
      fired: (prev?.fired ?? 0) + a.fired,
      last: a.lastFireAt,
      state: a.state,
      runtime: a.runtime === undefined ? (prev?.runtime ?? null) : JSON.stringify(a.runtime),
      bump: (prev?.bump ?? 0) + 1,
    });
  });
  if (merged.size === 0) return;
  const rows = [...merged.entries()];
  await runSchedule(ctx.db, ctx.tx, 'advanceSchedules', [
    ctx.now,
    rows.map(([id]) => id),
    rows.map(([, m]) => m.next),
    rows.map(([, m]) => m.wake),
    rows.map(([, m]) => m.fired),
    rows.map(([, m]) => m.last),
    rows.map(([, m]) => m.state),
    rows.map(([, m]) => m.runtime),
    rows.map(([, m]) => m.bump),
  ]);
}
