import type { ScheduleInfo } from '../client/schedules.js';
import { activeRuns } from '../schedule/backfill.js';
import { describeTrigger, triggerTimezone } from '../schedule/trigger.js';
import type {
  BackfillRecord,
  ScheduleEvent,
  ScheduleRecord,
  ScheduleRun,
  ScheduleRunState,
} from '../schedule/types.js';
import { bold, colourFlowState, dim, duration, relativeTime, table } from './format.js';
import { bar } from './progress.js';

/** Human output for schedules, their runs and events, and backfills. */

const tty = process.stdout.isTTY === true && !process.env.NO_COLOR;
const green = (s: string) => (tty ? `\x1b[32m${s}\x1b[0m` : s);
const yellow = (s: string) => (tty ? `\x1b[33m${s}\x1b[0m` : s);
const cyan = (s: string) => (tty ? `\x1b[36m${s}\x1b[0m` : s);

export function colourBackfillState(state: string): string {
  if (state === 'running') return cyan(state);
  if (state === 'finished') return green(state);
  return dim(state);
}

export function colourScheduleState(state: string): string {
  if (state === 'active') return green(state);
  if (state === 'paused') return yellow(state);
  return dim(state);
}

const zonedFormats = new Map<string, Intl.DateTimeFormat>();

/** `2026-11-22 02:00:00 Europe/Berlin`: a time as the wall clock of the schedule's zone shows it. */
export function zoned(ms: number, timezone: string): string {
  let format = zonedFormats.get(timezone);
  if (!format) {
    // sv-SE formats as YYYY-MM-DD HH:MM:SS.
    format = new Intl.DateTimeFormat('sv-SE', {
      timeZone: timezone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    zonedFormats.set(timezone, format);
  }
  return `${format.format(ms)} ${timezone}`;
}

/** `in 5m (2026-11-22 02:00:00 UTC)`, or `-`. */
export function when(ms: number | null, timezone: string, now = Date.now()): string {
  return ms === null ? '-' : `${relativeTime(ms, now)} ${dim(`(${zoned(ms, timezone)})`)}`;
}

export const SCHEDULE_HEADERS = ['NAME', 'TRIGGER', 'STATE', 'NEXT FIRE', 'LAST FIRE', 'FIRES'];

export function scheduleRow(s: ScheduleRecord, now = Date.now()): string[] {
  const tz = triggerTimezone(s.trigger);
  const next =
    s.state === 'completed'
      ? '-'
      : s.trigger.type === 'datasets'
        ? dim('when partitions are marked')
        : s.trigger.type === 'continuous'
          ? dim('when the previous run ends')
          : when(s.nextFireAt, tz, now);
  return [
    s.name,
    describeTrigger(s.trigger),
    colourScheduleState(s.state),
    next,
    relativeTime(s.lastFireAt, now),
    s.policies.maxRuns === null ? String(s.fireCount) : `${s.fireCount}/${s.policies.maxRuns}`,
  ];
}

export const RUN_HEADERS = ['KIND', 'FIRE TIME', 'PARTITION', 'RUN', 'STATE', 'CREATED', 'DURATION'];

export function runRow(run: ScheduleRun, timezone: string, now = Date.now()): string[] {
  return [
    run.backfillId ? `${run.kind} ${dim(`#${run.backfillId}`)}` : run.kind,
    run.fireTime === null ? '-' : zoned(run.fireTime, timezone),
    run.partition ?? '-',
    runTarget(run),
    colourFlowState(run.state),
    relativeTime(run.createdAt, now),
    run.finishedAt !== null && run.startedAt !== null ? duration(run.finishedAt - run.startedAt) : '-',
  ];
}

/** `job 12` or `flow 3`. */
export function runTarget(run: Pick<ScheduleRun, 'jobId' | 'flowId'>): string {
  if (run.jobId) return `job ${run.jobId}`;
  if (run.flowId) return `flow ${run.flowId}`;
  return '-';
}

export function eventLine(e: ScheduleEvent): string {
  const data = e.data ? ` ${dim(JSON.stringify(e.data))}` : '';
  return `  ${dim(new Date(e.at).toISOString())}  ${e.type.padEnd(18)}${data}`.trimEnd();
}

/** `1m`, `90s`, `1500ms`: a configured duration in its largest whole unit. */
function span(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const)
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

function policiesText(s: ScheduleRecord): string[] {
  const p = s.policies;
  const misfire = p.misfire === 'catch_up' ? `catch_up (at most ${p.maxCatchUp})` : p.misfire;
  return [
    `misfire ${misfire}, grace ${span(p.misfireGraceMs)}`,
    `overlap ${p.overlap}`,
    s.trigger.type === 'once'
      ? 'fires once'
      : p.maxRuns === null
        ? 'runs forever'
        : `completes after ${p.maxRuns} fire times`,
  ];
}

function targetFields(s: ScheduleRecord, field: (name: string, value: string) => void): string[] {
  if (s.target.kind === 'flow') {
    const flow = s.target.flow;
    field(
      'flow',
      `${flow.spec.name} ${dim(`(${flow.steps.length} step${flow.steps.length === 1 ? '' : 's'})`)}`,
    );
    return flow.store ? ['', bold('flow store'), JSON.stringify(flow.store, null, 2)] : [];
  }
  const job = s.target.job;
  field('task', job.task);
  field(
    'job',
    [
      `queue ${job.queue}`,
      `priority ${job.priority}`,
      `${job.retry.maxAttempts} attempts`,
      job.timeoutMs === null ? 'no timeout' : `timeout ${span(job.timeoutMs)}`,
    ].join(', '),
  );
  return ['', bold('input'), JSON.stringify(job.input, null, 2)];
}

export function scheduleDetails(
  s: ScheduleInfo,
  runs: readonly ScheduleRun[],
  events: readonly ScheduleEvent[],
  now = Date.now(),
): string {
  const tz = triggerTimezone(s.trigger);
  const out: string[] = [];
  const field = (name: string, value: string) => out.push(`${dim(name.padEnd(12))}${value}`);
  field('schedule', bold(s.name));
  if (s.description) field('description', s.description);
  field('state', colourScheduleState(s.state));
  field('trigger', describeTrigger(s.trigger));
  const [misfire, overlap, repeat] = policiesText(s);
  field('policies', `${misfire}; ${overlap}; ${repeat}`);
  const more = targetFields(s, field);
  field('fired', `${s.fireCount} time${s.fireCount === 1 ? '' : 's'}`);
  field('last fire', s.lastFireAt === null ? '-' : when(s.lastFireAt, tz, now));
  if (s.state !== 'completed' && s.nextFireAt !== null) field('next fire', when(s.nextFireAt, tz, now));
  field('created', `${new Date(s.createdAt).toISOString()}  ${dim(relativeTime(s.createdAt, now))}`);
  if (s.metadata) field('metadata', JSON.stringify(s.metadata));
  out.push(...more);
  if (s.nextFireTimes.length > 0) {
    out.push('', bold(s.state === 'paused' ? 'next fire times (once resumed)' : 'next fire times'));
    for (const t of s.nextFireTimes) out.push(`  ${zoned(t, tz)}  ${dim(relativeTime(t, now))}`);
  }
  out.push('', bold('recent runs'));
  if (runs.length === 0) out.push(dim('  none yet'));
  else
    out.push(
      ...table(
        RUN_HEADERS,
        runs.map((r) => runRow(r, tz, now)),
      )
        .split('\n')
        .map((l) => `  ${l}`),
    );
  out.push('', bold('recent events'));
  for (const e of events) out.push(eventLine(e));
  return out.join('\n');
}

const FINISHED: readonly ScheduleRunState[] = [
  'succeeded',
  'failed',
  'cancelled',
  'reverted',
  'revert_failed',
  'deleted',
] as ScheduleRunState[];

/** How far a backfill got: fire times handled (run and ended, or skipped) of its total. */
export function backfillProgress(b: BackfillRecord): { done: number; failed: number; running: number } {
  let ended = 0;
  for (const state of FINISHED) ended += b.runs[state] ?? 0;
  const failed = (b.runs.failed ?? 0) + (b.runs.revert_failed ?? 0) + (b.runs.cancelled ?? 0);
  return { done: b.skipped + ended, failed, running: activeRuns(b) };
}

/** `12/30 done (3 running, 1 failed, 2 already ran)`. */
export function progressText(b: BackfillRecord): string {
  const p = backfillProgress(b);
  const parts = [`${p.running} running`];
  if (p.failed > 0) parts.push(`${p.failed} failed`);
  if (b.skipped > 0) parts.push(`${b.skipped} already ran`);
  return `${p.done}/${b.total} done (${parts.join(', ')})`;
}

/** `[██████░░░░] 12/30 done (...)`, for a terminal. */
export function progressBar(b: BackfillRecord, width = 24): string {
  return `${bar(backfillProgress(b).done, b.total, width)} ${progressText(b)}`;
}

export function backfillRange(b: BackfillRecord): string {
  if (b.partitions) {
    const first = b.partitions[0] ?? '';
    const last = b.partitions.at(-1) ?? '';
    return b.partitions.length === 1 ? `partition ${first}` : `partitions ${first} .. ${last}`;
  }
  if (b.from === null || b.to === null) return '-';
  return `${new Date(b.from).toISOString()} .. ${new Date(b.to).toISOString()}`;
}

export const BACKFILL_HEADERS = ['ID', 'SCHEDULE', 'STATE', 'RANGE', 'PROGRESS', 'CONCURRENCY', 'CREATED'];

export function backfillRow(b: BackfillRecord, now = Date.now()): string[] {
  return [
    b.id,
    b.scheduleName,
    colourBackfillState(b.state),
    backfillRange(b),
    progressText(b),
    String(b.concurrency),
    relativeTime(b.createdAt, now),
  ];
}

export function backfillDetails(b: BackfillRecord, now = Date.now()): string {
  const out: string[] = [];
  const field = (name: string, value: string) => out.push(`${dim(name.padEnd(12))}${value}`);
  field('backfill', bold(b.id));
  field('schedule', b.scheduleName);
  field('state', colourBackfillState(b.state));
  field('range', backfillRange(b));
  field('progress', progressText(b));
  field('concurrency', `at most ${b.concurrency} at once`);
  field('runs', `${b.created} created of ${b.total}, ${b.skipped} already ran before`);
  const states = Object.entries(b.runs).filter(([, n]) => (n ?? 0) > 0);
  if (states.length > 0)
    field('run states', states.map(([state, n]) => `${n} ${colourFlowState(state)}`).join(', '));
  field('created', `${new Date(b.createdAt).toISOString()}  ${dim(relativeTime(b.createdAt, now))}`);
  if (b.finishedAt !== null)
    field(
      'finished',
      `${new Date(b.finishedAt).toISOString()}  ${dim(`took ${duration(b.finishedAt - b.createdAt)}`)}`,
    );
  return out.join('\n');
}
