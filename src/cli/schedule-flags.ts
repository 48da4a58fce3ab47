import type { Command } from 'commander';
import type { ScheduleDefinition, ScheduleJobOptions } from '../client/schedules.js';
import { ValidationError } from '../core/errors.js';
import type { FlowSpec } from '../flow/spec.js';
import type { TriggerSpec } from '../schedule/trigger.js';
import type { MisfirePolicy, OverlapPolicy, ScheduleRecord } from '../schedule/types.js';
import {
  choiceFlag,
  intFlag,
  jsonObjectFlag,
  listFlag,
  parseJsonFlag,
  readTextFlag,
  timeFlag,
  usage,
} from './parse.js';

/** The flags of `stint schedules create` and `update`, as commander hands them over. */
export interface ScheduleFlags {
  file?: string;
  task?: string;
  input?: string;
  flow?: string;
  store?: string;
  cron?: string;
  timezone?: string;
  every?: string;
  reference?: string;
  once?: string;
  datasets?: string;
  continuous?: boolean;
  backoff?: string;
  maxBackoff?: string;
  misfire?: string;
  misfireGrace?: string;
  maxCatchUp?: string;
  overlap?: string;
  maxRuns?: string;
  paused?: boolean;
  queue?: string;
  priority?: string;
  maxAttempts?: string;
  timeout?: string;
  description?: string;
  metadata?: string;
}

const MISFIRE: readonly MisfirePolicy[] = ['skip', 'fire_once', 'catch_up'];
const OVERLAP: readonly OverlapPolicy[] = ['allow', 'skip', 'queue', 'cancel_previous'];

/** Adds the trigger flags (shared by create, update and next). */
export function triggerOptions(cmd: Command, withDataTriggers: boolean): Command {
  cmd
    .option('--cron <expr>', "cron expression, 5 fields or 6 with seconds first, e.g. '0 2 * * *'")
    .option('--timezone <tz>', 'with --cron: IANA time zone, e.g. Europe/Berlin (default UTC)')
    .option('--every <duration>', 'interval, e.g. 15m, 1h, 1d')
    .option('--reference <time>', 'with --every: fire at reference + k * interval (default the Unix epoch)')
    .option('--once <time>', 'fire once at this ISO 8601 time');
  if (withDataTriggers)
    cmd
      .option(
        '--datasets <names>',
        'fire once per partition marked by all of these datasets (comma-separated)',
      )
      .option('--continuous', 'start a run again each time the previous one ends')
      .option('--backoff <duration>', 'with --continuous: wait before a restart (default 1s, doubling)')
      .option('--max-backoff <duration>', 'with --continuous: the longest wait (default 5m)');
  return cmd;
}

/** Adds every create/update flag. */
export function scheduleOptions(cmd: Command, creating: boolean): Command {
  cmd
    .option('--file <schedule.json>', 'a JSON schedule definition (- reads stdin); flags override its fields')
    .option('--task <name>', 'the task each run submits')
    .option(
      '-i, --input <json>',
      'the task input; may use {{ fireTime }}, {{ date }}, {{ partition }}, {{ schedule }}',
    )
    .option('--flow <spec.json>', 'or: the flow spec each run submits (as for stint flows submit)')
    .option(
      '--store <json>',
      'with --flow: JSON object of named values its steps refer to (placeholders allowed)',
    );
  triggerOptions(cmd, true);
  cmd
    .option('--misfire <policy>', `missed fire times: ${MISFIRE.join(', ')} (default fire_once)`)
    .option('--misfire-grace <duration>', 'a fire time later than this counts as missed (default 1m)')
    .option('--max-catch-up <n>', 'with --misfire catch_up: run at most this many missed times (default 100)')
    .option('--overlap <policy>', `while the previous run is going: ${OVERLAP.join(', ')} (default allow)`)
    .option('--max-runs <n>', 'complete after this many fire times (default forever)');
  if (creating) cmd.option('--paused', 'create it paused (stint schedules resume starts it)');
  return cmd
    .option('--queue <name>', "each run's queue (default: the task's)")
    .option('--priority <n>', 'higher runs first')
    .option('--max-attempts <n>', 'attempts per run, the first included')
    .option('--timeout <duration>', 'per-attempt deadline, e.g. 10m')
    .option('--description <text>', 'shown by stint schedules show')
    .option('--metadata <json>', 'JSON object stored with the schedule');
}

/** The trigger the flags describe, or undefined when they name none. */
export function triggerFromFlags(f: ScheduleFlags): TriggerSpec | undefined {
  const given = (['cron', 'every', 'once', 'datasets', 'continuous'] as const).filter(
    (k) => f[k] !== undefined,
  );
  if (given.length > 1)
    usage(
      given.map((k) => `--${k}`).join(' and '),
      'cannot be combined: a schedule has one trigger (--cron, --every, --once, --datasets or --continuous)',
    );
  const requires = (flag: string, value: unknown, owner: string) => {
    if (value !== undefined && given[0] !== owner) usage(flag, `only applies with --${owner}`);
  };
  requires('--timezone', f.timezone, 'cron');
  requires('--reference', f.reference, 'every');
  requires('--backoff', f.backoff, 'continuous');
  requires('--max-backoff', f.maxBackoff, 'continuous');
  if (f.cron !== undefined)
    return { cron: f.cron, ...(f.timezone !== undefined ? { timezone: f.timezone } : {}) };
  if (f.every !== undefined)
    return {
      every: f.every,
      ...(f.reference !== undefined ? { reference: timeFlag('--reference', f.reference) } : {}),
    };
  if (f.once !== undefined) return { once: timeFlag('--once', f.once) };
  if (f.datasets !== undefined) return { datasets: listFlag('--datasets', f.datasets) };
  if (f.continuous)
    return {
      continuous: true,
      ...(f.backoff !== undefined ? { backoff: f.backoff } : {}),
      ...(f.maxBackoff !== undefined ? { maxBackoff: f.maxBackoff } : {}),
    };
  return undefined;
}

function jobOptionsFromFlags(f: ScheduleFlags): ScheduleJobOptions {
  const job: ScheduleJobOptions = {};
  if (f.queue !== undefined) job.queue = f.queue;
  const priority = intFlag('--priority', f.priority, Number.MIN_SAFE_INTEGER);
  if (priority !== undefined) job.priority = priority;
  const maxAttempts = intFlag('--max-attempts', f.maxAttempts);
  if (maxAttempts !== undefined) job.maxAttempts = maxAttempts;
  if (f.timeout !== undefined) job.timeout = f.timeout;
  return job;
}

/** The definition fields the flags give (a `--file` definition first, the flags over it). */
export async function definitionFromFlags(f: ScheduleFlags): Promise<Partial<ScheduleDefinition>> {
  const d: Partial<ScheduleDefinition> = f.file === undefined ? {} : await definitionFile(f.file);
  if (f.task !== undefined && f.flow !== undefined)
    usage('--task and --flow', 'cannot be combined: a schedule runs a task or a flow');
  if (f.task !== undefined) {
    d.task = f.task;
    delete d.flow;
    delete d.flowStore;
  }
  if (f.input !== undefined) d.input = parseJsonFlag('--input', f.input);
  if (f.flow !== undefined) {
    const text = await readTextFlag('--flow', f.flow);
    d.flow = parseJsonFlag(f.flow === '-' ? 'the flow spec on stdin' : `--flow ${f.flow}`, text) as FlowSpec;
    delete d.task;
    delete d.input;
  }
  if (f.store !== undefined) d.flowStore = jsonObjectFlag('--store', f.store);
  if (d.flow !== undefined && (f.input !== undefined || Object.keys(jobOptionsFromFlags(f)).length > 0))
    usage('--input and the job options', "apply to task schedules; a flow's steps set their own");
  if (d.task !== undefined && f.store !== undefined) usage('--store', 'applies to flow schedules (--flow)');
  const trigger = triggerFromFlags(f);
  if (trigger !== undefined) d.trigger = trigger;
  const misfire = choiceFlag('--misfire', f.misfire, MISFIRE);
  if (misfire !== undefined) d.misfire = misfire;
  if (f.misfireGrace !== undefined) d.misfireGrace = f.misfireGrace;
  const maxCatchUp = intFlag('--max-catch-up', f.maxCatchUp);
  if (maxCatchUp !== undefined) d.maxCatchUp = maxCatchUp;
  const overlap = choiceFlag('--overlap', f.overlap, OVERLAP);
  if (overlap !== undefined) d.overlap = overlap;
  const maxRuns = intFlag('--max-runs', f.maxRuns);
  if (maxRuns !== undefined) d.maxRuns = maxRuns;
  if (f.paused) d.paused = true;
  const job = jobOptionsFromFlags(f);
  if (Object.keys(job).length > 0) d.job = { ...d.job, ...job };
  if (f.description !== undefined) d.description = f.description;
  if (f.metadata !== undefined) d.metadata = jsonObjectFlag('--metadata', f.metadata);
  return d;
}

async function definitionFile(file: string): Promise<Partial<ScheduleDefinition>> {
  const what = file === '-' ? 'the schedule definition on stdin' : file;
  const value = parseJsonFlag(`--file ${what}`, await readTextFlag('--file', file));
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    usage(
      '--file',
      `${what} must hold a JSON object (a schedule definition: name, task, input, trigger, ...)`,
    );
  return value as Partial<ScheduleDefinition>;
}

/**
 * `updateSchedule` replaces the whole run template when any part of it changes; the CLI changes
 * only what was given, so the rest (task, input, job options) is carried over from the schedule.
 */
export function carryOverTarget(
  current: ScheduleRecord,
  changes: Partial<ScheduleDefinition>,
): Partial<ScheduleDefinition> {
  const touched = ['task', 'input', 'job', 'flow', 'flowStore'].some((k) => k in changes);
  if (
    !touched ||
    changes.flow !== undefined ||
    (changes.task !== undefined && current.target.kind === 'flow')
  )
    return changes;
  if (current.target.kind === 'flow') {
    if (changes.input !== undefined || changes.job !== undefined)
      usage('--input and the job options', "apply to task schedules; a flow's steps set their own");
    const flow = current.target.flow;
    const flowStore = changes.flowStore ?? flow.store;
    return { ...changes, flow: flow.spec, ...(flowStore ? { flowStore } : {}) };
  }
  const job = current.target.job;
  const retry = job.retry;
  const sameTask = changes.task === undefined || changes.task === job.task;
  return {
    ...changes,
    task: changes.task ?? job.task,
    ...(changes.input === undefined && sameTask ? { input: job.input } : {}),
    job: {
      ...(sameTask
        ? {
            queue: job.queue,
            priority: job.priority,
            retry: {
              maxAttempts: retry.maxAttempts,
              backoff: retry.baseMs,
              factor: retry.factor,
              maxBackoff: retry.maxMs,
              jitter: retry.jitter,
            },
            ...(job.timeoutMs !== null ? { timeout: job.timeoutMs } : {}),
            ...(job.metadata !== null ? { metadata: job.metadata } : {}),
          }
        : {}),
      ...changes.job,
    },
  };
}

/** The flag that sets a definition path, for error messages (paths inside a `--file` stay as they are). */
const FLAG_OF: Record<string, string> = {
  'trigger.cron': '--cron',
  'trigger.timezone': '--timezone',
  'trigger.every': '--every',
  'trigger.reference': '--reference',
  'trigger.once': '--once',
  'trigger.datasets': '--datasets',
  'trigger.backoff': '--backoff',
  'trigger.maxBackoff': '--max-backoff',
  trigger: 'the trigger (--cron, --every, --once, --datasets or --continuous)',
  misfire: '--misfire',
  misfireGrace: '--misfire-grace',
  maxCatchUp: '--max-catch-up',
  overlap: '--overlap',
  maxRuns: '--max-runs',
  input: '--input',
  task: '--task',
  flowStore: '--store',
  'options.queue': '--queue',
  'options.priority': '--priority',
  'options.timeout': '--timeout',
  'retry.maxAttempts': '--max-attempts',
  name: '<name>',
  count: '--count',
  from: '--from',
  to: '--to',
  partitions: '--partitions',
  concurrency: '--concurrency',
};

/** Runs `fn`; a `ValidationError` about a definition path is rethrown naming the flag instead. */
export async function withFlagNames<T>(fn: () => Promise<T>, extra: Record<string, string> = {}): Promise<T> {
  const flagOf: Record<string, string> = { ...FLAG_OF, ...extra };
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof ValidationError) || err.issues.length === 0) throw err;
    const rename = (path: string) => {
      const key = Object.keys(flagOf)
        .sort((a, b) => b.length - a.length)
        .find((k) => path === k || path.startsWith(`${k}.`));
      if (key === undefined) return path;
      const rest = path.slice(key.length + 1);
      return `${flagOf[key]}${rest ? ` (at ${rest})` : ''}`;
    };
    const issues = err.issues.map((i) => ({ ...i, path: rename(i.path) }));
    const first = err.issues[0]?.path ?? '';
    const message =
      first && err.message.startsWith(first) ? rename(first) + err.message.slice(first.length) : err.message;
    throw new ValidationError(message, issues, { cause: err });
  }
}
