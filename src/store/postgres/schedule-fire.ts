import type { NewFlow } from '../../flow/types.js';
import type { FireResult, NewScheduleRun, ScheduleFire, ScheduleState } from '../../schedule/types.js';
import { toRowId } from '../rows.js';
import type { NewJob } from '../types.js';
import { insertFlow } from './flows.js';
import { runSchedule } from './schedule-sql.js';
import { nowOf, type TxContext } from './write.js';

/**
 * Fires schedules, a batch in one transaction and a handful of statements whatever its size. The
 * coordinator's batches (every fire advances its schedule, each schedule once) take the fast way:
 * one statement checks every fence and advances the schedules that hold (`advanceFenced`), one
 * more inserts their runs with their jobs. Other batches (run-now and backfill fires, which only
 * need the schedule to exist; a schedule fired twice) lock the schedules in id order first (so two
 * batches never deadlock) and check the fences here. Flows go through the flow insert path, one
 * each; events follow in one more statement.
 */
export async function fireSchedules(ctx: TxContext, fires: readonly ScheduleFire[]): Promise<FireResult[]> {
  const ids = [...new Set(fires.map((f) => toRowId(f.scheduleId)).filter((id) => id !== null))];
  ids.sort((a, b) => a - b);
  const fast = ids.length === fires.length && fires.every((f) => f.advance);
  const applied = fast ? await advanceFenced(ctx, fires, ids) : await lockAndCheck(ctx, fires, ids);

  const runs = fires.flatMap((fire, i) =>
    applied[i] ? fire.runs.map((run) => ({ scheduleId: Number(fire.scheduleId), run })) : [],
  );
  const outcomes = await insertRuns(ctx, runs);
  if (!fast) await advanceSchedules(ctx, fires, applied);
  const events = fires.flatMap((fire, i) =>
    applied[i] ? (fire.events ?? []).map((e) => ({ scheduleId: Number(fire.scheduleId), ...e })) : [],
  );
  if (events.length > 0) {
    await runSchedule(ctx.db, ctx.tx, 'insertEvents', [
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

/** Fences and advances in one statement (each fire has an advance, each schedule once); which held. */
async function advanceFenced(
  ctx: TxContext,
  fires: readonly ScheduleFire[],
  ids: number[],
): Promise<boolean[]> {
  const byId = new Map(fires.map((f) => [Number(f.scheduleId), f.advance as Advance]));
  const a = ids.map((id) => byId.get(id) as Advance);
  const held = await runSchedule<{ id: number }>(ctx.db, ctx.tx, 'advanceFenced', [
    ctx.now,
    ids,
    a.map((x) => x.version),
    a.map((x) => x.nextFireAt),
    a.map((x) => x.wakeAt),
    a.map((x) => x.fired),
    a.map((x) => x.lastFireAt),
    a.map((x) => x.state),
    a.map((x) => (x.runtime === undefined ? null : JSON.stringify(x.runtime))),
  ]);
  const ok = new Set(held.map((r) => r.id));
  return fires.map((f) => ok.has(Number(f.scheduleId)));
}

/** Locks the schedules in id order and checks each fire's fence; which hold (advanced later). */
async function lockAndCheck(
  ctx: TxContext,
  fires: readonly ScheduleFire[],
  ids: number[],
): Promise<boolean[]> {
  const { db, tx } = ctx;
  const locked =
    ids.length === 0
      ? []
      : await runSchedule<{ id: number; version: number; state: ScheduleState }>(db, tx, 'lockSchedules', [
          ids,
        ]);
  const current = new Map(locked.map((r) => [r.id, { version: r.version, state: r.state }]));
  return fires.map((fire) => {
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
}

type RunOutcome = FireResult['runs'][number];
type Advance = NonNullable<ScheduleFire['advance']>;

interface RunRow {
  id: number;
  schedule_id: number;
  key: string;
  job_id: number | null;
}

const keyOf = (scheduleId: number, key: string) => `${scheduleId}\u0000${key}`;

/** A job template as one record of insertRuns' `templates` (what the runs of a template share). */
function toTemplateRecord(j: NewJob) {
  return {
    task: j.task,
    queue: j.queue,
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
    placement: j.placement ?? null,
    concurrency_key: j.concurrency?.key ?? null,
    concurrency_limit: j.concurrency?.limit ?? null,
    sandbox: j.sandbox ?? null,
  };
}

/**
 * Whether two rendered jobs share their template. Compared by identity: the runs of one schedule
 * (and of schedules with the same target text, whose parsed targets the store shares) share every
 * part but the input. A miss only sends one more template.
 */
const sameTemplate = (a: NewJob, b: NewJob): boolean =>
  a.task === b.task &&
  a.queue === b.queue &&
  a.priority === b.priority &&
  a.runAt === b.runAt &&
  a.delayMs === b.delayMs &&
  a.retry === b.retry &&
  a.timeoutMs === b.timeoutMs &&
  a.metadata === b.metadata &&
  a.placement === b.placement &&
  a.concurrency === b.concurrency &&
  a.sandbox === b.sandbox;

/** Templates looked for among the last few only: a batch has one or a handful. */
const TEMPLATE_LOOKBACK = 8;

/** insertRuns' two documents: the distinct job templates, and each run with its template's index. */
function toDocuments(runs: readonly { scheduleId: number; run: NewScheduleRun }[]): [string, string] {
  const templates: NewJob[] = [];
  const records = runs.map(({ scheduleId, run }) => {
    let t: number | null = null;
    if (run.target.kind === 'job') {
      const job = run.target.job;
      for (let k = templates.length - 1; k >= Math.max(0, templates.length - TEMPLATE_LOOKBACK); k--) {
        if (sameTemplate(templates[k] as NewJob, job)) {
          t = k;
          break;
        }
      }
      if (t === null) t = templates.push(job) - 1;
    }
    return {
      s: scheduleId,
      k: run.key,
      d: run.kind,
      f: run.fireTime,
      p: run.partition,
      b: run.backfillId === null ? null : toRowId(run.backfillId),
      t,
      i: run.target.kind === 'job' ? (run.target.job.input ?? null) : null,
    };
  });
  return [JSON.stringify(templates.map(toTemplateRecord)), JSON.stringify(records)];
}

/** Inserts runs (each key at most once per schedule) with their jobs or flows; outcomes in order. */
async function insertRuns(
  ctx: TxContext,
  runs: readonly { scheduleId: number; run: NewScheduleRun }[],
): Promise<RunOutcome[]> {
  if (runs.length === 0) return [];
  const { db, tx } = ctx;
  const rows = await runSchedule<RunRow>(db, tx, 'insertRuns', [ctx.now, ...toDocuments(runs)]);
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
  // NOTIFYed to other processes by the transaction; this one hears at once.
  if (queues.size > 0) ctx.announce({ type: 'jobs-available', queues: [...queues], earliestRunAt: earliest });

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
