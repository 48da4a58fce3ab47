import { type Duration, parseDuration } from '../core/duration.js';
import { backfillNotFound, ConflictError, scheduleNotFound, ValidationError } from '../core/errors.js';
import { type FlowBuilder, isFlowBuilder } from '../flow/builder.js';
import type { StepTaskInfo } from '../flow/prepare.js';
import type { FlowSpec } from '../flow/spec.js';
import { activeRuns, MAX_BACKFILL_RUNS } from '../schedule/backfill.js';
import { renderRun, runNowKey } from '../schedule/fire.js';
import { placeholdersIn, renderParams } from '../schedule/params.js';
import {
  checkDatasetName,
  checkPartition,
  countFireTimes,
  isTimeTrigger,
  nextFireAfter,
  nextFireTimes,
  parseTime,
  parseTrigger,
  type TimeInput,
  type TriggerSpec,
  triggerTimezone,
} from '../schedule/trigger.js';
import type {
  BackfillRecord,
  DatasetPartition,
  DatasetSummary,
  MisfirePolicy,
  OverlapPolicy,
  ScheduleEvent,
  ScheduleFilter,
  SchedulePatch,
  SchedulePolicies,
  ScheduleRecord,
  ScheduleRun,
  ScheduleTarget,
  Trigger,
} from '../schedule/types.js';
import type { Store } from '../store/types.js';
import type { Task } from '../task/define.js';
import { toNewFlow } from './flows.js';
import { type JobDefaults, type SubmitOptions, toNewJob } from './submit-options.js';

/** Options of the jobs a schedule creates (each overrides the task's default). */
export type ScheduleJobOptions = Pick<
  SubmitOptions,
  'queue' | 'priority' | 'maxAttempts' | 'retry' | 'timeout' | 'metadata'
>;

/** What a schedule runs and when. Give `task` (with `input`) or `flow`. */
export interface ScheduleDefinition {
  /** Unique; letters, digits and `_ . : -`. */
  name: string;
  description?: string;
  /** The task each run submits (its input may use `{{ fireTime }}`, `{{ date }}`, `{{ partition }}`, `{{ schedule }}`). */
  task?: Task | string;
  input?: unknown;
  /** Options of each run's job. */
  job?: ScheduleJobOptions;
  /** Or: the flow each run submits, and the named values its steps can refer to (`store.<key>`; placeholders allowed). */
  flow?: FlowBuilder | FlowSpec;
  flowStore?: Record<string, unknown>;
  trigger: TriggerSpec;
  /** Fire times missed by more than `misfireGrace`: skip them, run one, or run each. @default 'fire_once' */
  misfire?: MisfirePolicy;
  /** @default '1m' */
  misfireGrace?: Duration;
  /** `catch_up`: at most this many missed fire times run (the latest). @default 100 */
  maxCatchUp?: number;
  /** While the previous run is going. @default 'allow' */
  overlap?: OverlapPolicy;
  /** Complete after this many fire times. @default forever */
  maxRuns?: number;
  /** Create it paused. @default false */
  paused?: boolean;
  metadata?: Record<string, unknown>;
}

/** A schedule and what is coming: `nextFireTimes` previews up to 5 fire times. */
export interface ScheduleInfo extends ScheduleRecord {
  nextFireTimes: number[];
}

export interface BackfillOptions {
  /** Time triggers: the fire times in [from, to] run. */
  from?: TimeInput;
  to?: TimeInput;
  /** Dataset triggers: these partitions, or (with `from`/`to` as partition names) those marked by every dataset in that range. */
  partitions?: string[];
  /** At most this many of the backfill's runs at once. @default 1 */
  concurrency?: number;
}

export interface ScheduleApi {
  createSchedule(definition: ScheduleDefinition): Promise<ScheduleInfo>;
  /** Changes a schedule: give only what changes. A changed trigger starts from the next fire time after now. */
  updateSchedule(name: string, changes: Partial<Omit<ScheduleDefinition, 'name'>>): Promise<ScheduleInfo>;
  getSchedule(name: string): Promise<ScheduleInfo>;
  listSchedules(filter?: ScheduleFilter): Promise<{ schedules: ScheduleRecord[]; nextCursor: string | null }>;
  deleteSchedule(name: string): Promise<void>;
  pauseSchedule(name: string): Promise<ScheduleInfo>;
  /** Fire times missed while paused follow the misfire policy. */
  resumeSchedule(name: string): Promise<ScheduleInfo>;
  /** One run now, not counted as a fire time and not subject to the overlap policy. */
  runScheduleNow(name: string, options?: { partition?: string }): Promise<ScheduleRun>;
  scheduleEvents(name: string): Promise<ScheduleEvent[]>;
  scheduleRuns(
    name: string,
    options?: { limit?: number; cursor?: string },
  ): Promise<{ runs: ScheduleRun[]; nextCursor: string | null }>;
  /** Previews a trigger: its next `count` fire times after `after` (default now); a `ValidationError` says what is wrong. */
  nextFireTimes(trigger: TriggerSpec, options?: { count?: number; after?: TimeInput }): Promise<number[]>;
  /** Marks a dataset's partition available; schedules waiting on the dataset fire when all theirs are there. */
  markAvailable(
    dataset: string,
    partition: string,
    metadata?: Record<string, unknown>,
  ): Promise<{ created: boolean; partition: DatasetPartition }>;
  listDatasets(): Promise<DatasetSummary[]>;
  listPartitions(
    dataset: string,
    options?: { limit?: number; cursor?: string },
  ): ReturnType<Store['listPartitions']>;
  /** Runs a schedule for every fire time (or partition) in a range, at most `concurrency` at once; runs that already exist are not repeated. */
  backfill(name: string, options: BackfillOptions): Promise<BackfillRecord>;
  getBackfill(id: string): Promise<BackfillRecord>;
  listBackfills(name?: string): Promise<BackfillRecord[]>;
  /** Stops a backfill: no new runs, and its pending and running runs are cancelled. */
  cancelBackfill(id: string): Promise<BackfillRecord>;
}

export interface ScheduleDeps {
  store: Store;
  ensureOpen(): void;
  resolveTask(
    task: Task | string,
  ): Promise<{ name: string; def: Task | undefined; defaults: JobDefaults | undefined }>;
  stepTask(name: string, local: Task | undefined): Promise<StepTaskInfo | null>;
}

const NAME = /^[A-Za-z0-9_.:-]{1,200}$/;
const KNOWN = new Set([
  'name',
  'description',
  'task',
  'input',
  'job',
  'flow',
  'flowStore',
  'trigger',
  'misfire',
  'misfireGrace',
  'maxCatchUp',
  'overlap',
  'maxRuns',
  'paused',
  'metadata',
]);
const MISFIRE: readonly MisfirePolicy[] = ['skip', 'fire_once', 'catch_up'];
const OVERLAP: readonly OverlapPolicy[] = ['allow', 'skip', 'queue', 'cancel_previous'];
const PREVIEW = 5;

function fail(path: string, message: string): never {
  throw new ValidationError(`${path}: ${message}`, [{ path, message }]);
}

/** The value at a zod issue's path inside `value` (undefined when the path leaves it). */
function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let at = value;
  for (const key of path) {
    if (typeof at !== 'object' || at === null) return undefined;
    at = (at as Record<PropertyKey, unknown>)[key];
  }
  return at;
}

const usesPartition = (value: unknown): boolean =>
  typeof value === 'string' && /\{\{\s*partition\s*\}\}/.test(value);

function positiveInt(value: unknown, path: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) fail(path, 'must be a positive integer');
  return value as number;
}

function policiesOf(d: Partial<ScheduleDefinition>, base?: SchedulePolicies): SchedulePolicies {
  if (d.misfire !== undefined && !MISFIRE.includes(d.misfire))
    fail('misfire', `must be one of ${MISFIRE.join(', ')}`);
  if (d.overlap !== undefined && !OVERLAP.includes(d.overlap))
    fail('overlap', `must be one of ${OVERLAP.join(', ')}`);
  return {
    misfire: d.misfire ?? base?.misfire ?? 'fire_once',
    misfireGraceMs:
      d.misfireGrace !== undefined
        ? parseDuration(d.misfireGrace, 'misfireGrace')
        : (base?.misfireGraceMs ?? 60_000),
    maxCatchUp:
      d.maxCatchUp !== undefined ? positiveInt(d.maxCatchUp, 'maxCatchUp') : (base?.maxCatchUp ?? 100),
    overlap: d.overlap ?? base?.overlap ?? 'allow',
    maxRuns: d.maxRuns !== undefined ? positiveInt(d.maxRuns, 'maxRuns') : (base?.maxRuns ?? null),
  };
}

/** The first fire time a trigger owes from `now` on (datasets and continuous schedules are woken instead). */
function firstFire(trigger: Trigger, now: number): { nextFireAt: number | null; wakeAt: number | null } {
  if (trigger.type === 'datasets' || trigger.type === 'continuous') return { nextFireAt: null, wakeAt: now };
  const next = nextFireAfter(trigger, now - 1);
  return { nextFireAt: next, wakeAt: next };
}

function preview(schedule: ScheduleRecord, now: number): ScheduleInfo {
  const from = schedule.nextFireAt ?? now;
  const times =
    isTimeTrigger(schedule.trigger) && schedule.state !== 'completed'
      ? nextFireTimes(schedule.trigger, Math.max(from, now) - 1, PREVIEW)
      : [];
  return { ...schedule, nextFireTimes: times };
}

export function createScheduleApi(deps: ScheduleDeps): ScheduleApi {
  const { store } = deps;

  const load = async (name: string): Promise<ScheduleRecord> => {
    deps.ensureOpen();
    const schedule = await store.getSchedule(name);
    if (!schedule) throw scheduleNotFound(name);
    return schedule;
  };

  /** Checks the target with sample placeholder values (as the first run would see them) and returns the unrendered template. */
  const targetOf = async (
    d: Partial<ScheduleDefinition>,
    trigger: Trigger,
    name: string,
    now: number,
  ): Promise<ScheduleTarget> => {
    const sample = {
      fireTime: now,
      timezone: triggerTimezone(trigger),
      partition: 'partition',
      schedule: name,
    };
    if ((d.task === undefined) === (d.flow === undefined))
      fail('task', 'give a task (with input) or a flow, not both or neither');
    if (d.task !== undefined) {
      const used = placeholdersIn(d.input, 'input');
      if (used.has('partition') && trigger.type !== 'datasets')
        fail('input', '{{ partition }} is only filled in for dataset triggers');
      const { name: task, def, defaults } = await deps.resolveTask(d.task);
      const job = toNewJob(task, defaults, d.input ?? {}, d.job ?? {});
      if (def) {
        const parsed = def.input.safeParse(renderParams(d.input ?? {}, sample));
        // A value made from {{ partition }} is only known per run: the worker checks it then.
        const issue = parsed.error?.issues.find((i) => !usesPartition(valueAt(d.input, i.path)));
        if (issue) {
          fail(
            ['input', ...issue.path.map(String)].join('.'),
            `invalid input for task ${task}: ${issue.message}`,
          );
        }
      }
      const { runAt: _r, delayMs: _d, dedup: _x, ...template } = job;
      return { kind: 'job', job: template };
    }
    // A builder is rendered as its spec: its references are functions until then.
    const given = d.flow as FlowBuilder | FlowSpec;
    const flow = isFlowBuilder(given) ? given.toSpec() : given;
    placeholdersIn(d.flowStore, 'flowStore');
    const options = d.flowStore ? { store: d.flowStore } : {};
    // Checked rendered (inputs validated as a run would have them); stored as written.
    await toNewFlow(
      renderParams(flow, sample),
      d.flowStore ? { store: renderParams(d.flowStore, sample) } : {},
      deps.stepTask,
    );
    const raw = await toNewFlow(flow, options, async (task, local) => {
      const info = await deps.stepTask(task, local);
      if (!info) return null;
      const { task: _t, ...rest } = info;
      return rest;
    });
    return { kind: 'flow', flow: { ...raw, dedup: null } };
  };

  const api: ScheduleApi = {
    async createSchedule(d) {
      deps.ensureOpen();
      if (typeof d !== 'object' || d === null) fail('', 'a schedule definition object is required');
      for (const key of Object.keys(d))
        if (!KNOWN.has(key)) fail(key, `unknown field (known: ${[...KNOWN].join(', ')})`);
      if (typeof d.name !== 'string' || !NAME.test(d.name))
        fail('name', 'must be 1-200 letters, digits or _ . : -');
      const trigger = parseTrigger(d.trigger);
      const policies = policiesOf(d);
      const now = await store.now();
      const target = await targetOf(d, trigger, d.name, now);
      const first = firstFire(trigger, now);
      const schedule = await store.insertSchedule({
        name: d.name,
        description: d.description ?? null,
        target,
        trigger,
        policies,
        state: d.paused ? 'paused' : 'active',
        ...first,
        metadata: d.metadata ?? null,
      });
      return preview(schedule, now);
    },

    async updateSchedule(name, changes) {
      const current = await load(name);
      for (const key of Object.keys(changes))
        if (!KNOWN.has(key) || key === 'name') fail(key, 'unknown or unchangeable field');
      const now = await store.now();
      const patch: SchedulePatch = {};
      const trigger = changes.trigger !== undefined ? parseTrigger(changes.trigger) : current.trigger;
      if (changes.trigger !== undefined) Object.assign(patch, { trigger }, firstFire(trigger, now));
      patch.policies = policiesOf(changes, current.policies);
      if (
        changes.task !== undefined ||
        changes.flow !== undefined ||
        changes.input !== undefined ||
        changes.job !== undefined
      ) {
        if (changes.task === undefined && changes.flow === undefined)
          fail('task', 'give the task (or flow) again with its new input or options');
        patch.target = await targetOf(changes, trigger, name, now);
      }
      if (changes.description !== undefined) patch.description = changes.description;
      if (changes.metadata !== undefined) patch.metadata = changes.metadata;
      if (changes.paused !== undefined) patch.state = changes.paused ? 'paused' : 'active';
      const updated = await store.updateSchedule(
        name,
        patch,
        { type: 'updated', data: { fields: Object.keys(changes) } },
        { expectedVersion: current.version },
      );
      return preview(updated, now);
    },

    getSchedule: async (name) => preview(await load(name), await store.now()),
    listSchedules: async (filter = {}) => {
      deps.ensureOpen();
      return store.listSchedules(filter);
    },
    async deleteSchedule(name) {
      deps.ensureOpen();
      if (!(await store.deleteSchedule(name))) throw scheduleNotFound(name);
    },

    async pauseSchedule(name) {
      const current = await load(name);
      if (current.state !== 'active')
        throw new ConflictError(`schedule ${name} is ${current.state}, not active`);
      return preview(
        await store.updateSchedule(name, { state: 'paused' }, { type: 'paused', data: null }),
        await store.now(),
      );
    },
    async resumeSchedule(name) {
      const current = await load(name);
      if (current.state !== 'paused')
        throw new ConflictError(`schedule ${name} is ${current.state}, not paused`);
      const now = await store.now();
      // The owed fire time stays: a pause past fire times is a misfire, handled by the policy.
      const patch: SchedulePatch = { state: 'active' };
      if (current.trigger.type === 'datasets' || current.trigger.type === 'continuous') patch.wakeAt = now;
      return preview(await store.updateSchedule(name, patch, { type: 'resumed', data: null }), now);
    },

    async runScheduleNow(name, options = {}) {
      const schedule = await load(name);
      const partition =
        options.partition === undefined ? null : checkPartition(options.partition, 'partition');
      if (schedule.trigger.type === 'datasets' && partition === null)
        fail('partition', 'a dataset schedule runs for a partition: pass one');
      const now = await store.now();
      const run = renderRun(schedule, { key: runNowKey(), kind: 'now', fireTime: now, partition });
      const [result] = await store.fireSchedules([
        { scheduleId: schedule.id, runs: [run], events: [{ type: 'run_now', data: { key: run.key } }] },
      ]);
      if (!result?.applied) throw scheduleNotFound(name);
      const found = await store.listScheduleRuns({ scheduleId: schedule.id, limit: 20 });
      const made = found.runs.find((r) => r.key === run.key);
      if (!made)
        throw new Error(`the run ${run.key} of schedule ${name} was created but cannot be read back`);
      return made;
    },

    scheduleEvents: async (name) => {
      deps.ensureOpen();
      return store.getScheduleEvents(name);
    },
    scheduleRuns: async (name, options = {}) => {
      const schedule = await load(name);
      return store.listScheduleRuns({ scheduleId: schedule.id, ...options });
    },

    async nextFireTimes(spec, options = {}) {
      const trigger = parseTrigger(spec);
      const count = options.count === undefined ? PREVIEW : positiveInt(options.count, 'count');
      if (count > 1000) fail('count', 'at most 1000');
      const after = options.after === undefined ? await store.now() : parseTime(options.after, 'after');
      return nextFireTimes(trigger, after, count);
    },

    async markAvailable(dataset, partition, metadata) {
      deps.ensureOpen();
      checkDatasetName(dataset, 'dataset');
      checkPartition(partition, 'partition');
      if (
        metadata !== undefined &&
        (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
      )
        fail('metadata', 'must be a plain object');
      return store.markPartition(dataset, partition, metadata ?? null);
    },
    listDatasets: async () => {
      deps.ensureOpen();
      return store.listDatasets();
    },
    listPartitions: async (dataset, options) => {
      deps.ensureOpen();
      checkDatasetName(dataset, 'dataset');
      return store.listPartitions(dataset, options);
    },

    async backfill(name, options) {
      const schedule = await load(name);
      const concurrency =
        options.concurrency === undefined ? 1 : positiveInt(options.concurrency, 'concurrency');
      const trigger = schedule.trigger;
      if (trigger.type === 'datasets') {
        let partitions = options.partitions?.map((p, i) => checkPartition(p, `partitions.${i}`));
        if (!partitions) {
          if (typeof options.from !== 'string' || typeof options.to !== 'string')
            fail(
              'from',
              'a dataset schedule backfills partitions: give `partitions`, or `from` and `to` partition names',
            );
          partitions = await store.completePartitions({
            datasets: trigger.datasets,
            from: options.from,
            to: options.to,
            limit: MAX_BACKFILL_RUNS + 1,
          });
        }
        if (partitions.length === 0)
          fail('partitions', 'no partition to run (none marked by every dataset in that range)');
        if (partitions.length > MAX_BACKFILL_RUNS)
          fail('partitions', `at most ${MAX_BACKFILL_RUNS} partitions per backfill`);
        return store.insertBackfill({
          scheduleId: schedule.id,
          from: null,
          to: null,
          partitions,
          concurrency,
          total: partitions.length,
        });
      }
      if (!isTimeTrigger(trigger))
        fail('name', `schedule ${name} has a ${trigger.type} trigger: it has no fire times to backfill`);
      if (options.from === undefined || options.to === undefined) fail('from', 'give from and to');
      const from = parseTime(options.from, 'from');
      const to = parseTime(options.to, 'to');
      if (to < from) fail('to', 'must not be before from');
      const total = countFireTimes(trigger, from, to, MAX_BACKFILL_RUNS + 1);
      if (total === 0) fail('from', 'the range holds no fire time of this schedule');
      if (total > MAX_BACKFILL_RUNS)
        fail('to', `the range holds more than ${MAX_BACKFILL_RUNS} fire times; split it`);
      return store.insertBackfill({
        scheduleId: schedule.id,
        from,
        to,
        partitions: null,
        concurrency,
        total,
      });
    },
    async getBackfill(id) {
      deps.ensureOpen();
      const backfill = await store.getBackfill(id);
      if (!backfill) throw backfillNotFound(id);
      return backfill;
    },
    async listBackfills(name) {
      deps.ensureOpen();
      const scheduleId = name === undefined ? undefined : (await load(name)).id;
      return store.listBackfills(scheduleId === undefined ? {} : { scheduleId });
    },
    async cancelBackfill(id) {
      const backfill = await api.getBackfill(id);
      if (backfill.state !== 'running')
        throw new ConflictError(`backfill ${id} is ${backfill.state}, not running`);
      const cancelled = await store.updateBackfill(id, { state: 'cancelled' });
      if (activeRuns(cancelled) > 0) {
        let cursor: string | undefined;
        for (let page = 0; page < 1000; page++) {
          const { runs, nextCursor } = await store.listScheduleRuns({
            backfillId: id,
            active: true,
            limit: 200,
            ...(cursor ? { cursor } : {}),
          });
          for (const run of runs) {
            try {
              if (run.jobId) await store.cancelJob(run.jobId, `backfill ${id} cancelled`);
              else if (run.flowId) await store.cancelFlow(run.flowId, `backfill ${id} cancelled`);
            } catch (err) {
              if (!(err instanceof ConflictError)) throw err;
            }
          }
          if (!nextCursor) break;
          cursor = nextCursor;
        }
      }
      return (await store.getBackfill(id)) ?? cancelled;
    },
  };
  return api;
}
