import { type Clock, systemClock } from '../core/clock.js';
import { type Duration, parseDuration } from '../core/duration.js';
import {
  ClosedError,
  flowNotFound,
  JobCancelledError,
  JobFailedError,
  jobNotFound,
  ValidationError,
} from '../core/errors.js';
import type { JobEvent, JobLogEntry, JobRecord, JobState } from '../core/job.js';
import type { FlowBuilder } from '../flow/builder.js';
import type { StepTaskInfo } from '../flow/prepare.js';
import type { FlowSpec } from '../flow/spec.js';
import type { FlowFilter, FlowLogEntry, FlowPage, FlowRecord } from '../flow/types.js';
import { trackResource } from '../internal/resources.js';
import { openStore } from '../store/open.js';
import type { JobFilter, JobPage, Store, TaskDefaults } from '../store/types.js';
import { type Task, type TaskInput, type TaskOutput, toValidationError } from '../task/define.js';
import { type FlowHandle, flowOutcome, type SubmitFlowOptions, toNewFlow, waitForFlow } from './flows.js';
import { type FollowLogsOptions, followLogs } from './follow.js';
import { createQueueApi, type QueueApi } from './queues.js';
import { createScheduleApi, type ScheduleApi } from './schedules.js';
import { concurrencyFor, type JobDefaults, type SubmitOptions, toNewJob } from './submit-options.js';

/** How long a client trusts a task's registered defaults before reading them again. */
const REGISTRY_TTL_MS = 10_000;
/** The longest a registry read is shared by the submits of one turn. */
const SHARED_LOOKUP_MS = 20;

import { waitForJob } from './wait.js';

export interface ClientOptions {
  /** A store, or where to open one (a SQLite file path or `sqlite:` URL); an opened one is closed with the client. */
  store: Store | string;
  /** Tasks known here: submitting one of them by name validates its input. */
  tasks?: readonly Task[];
  /** @default the system clock */
  clock?: Clock;
}

export interface ResultOptions {
  /** Give up waiting (with a `WaitTimeoutError`) after this long. @default wait forever */
  timeout?: Duration;
}

/** A submitted job. Any process can make one from an id with `client.job(id)`. */
export interface JobHandle<Out = unknown> {
  readonly id: string;
  /** True when a dedup key matched an existing job: `id` is that job's. */
  readonly deduplicated: boolean;
  status(): Promise<JobState>;
  get(): Promise<JobRecord>;
  /** Waits for the job to finish: its output, or a `JobFailedError` / `JobCancelledError`. */
  result(options?: ResultOptions): Promise<Out>;
  cancel(reason?: string): Promise<JobRecord>;
}

/** Jobs, flows, (from `ScheduleApi`) schedules, datasets and backfills, and (from `QueueApi`) queues and workers. */
export interface Client extends ScheduleApi, QueueApi {
  readonly store: Store;
  submit<T extends Task>(
    task: T,
    input: TaskInput<T>,
    options?: SubmitOptions,
  ): Promise<JobHandle<TaskOutput<T>>>;
  submit<Out = unknown>(task: string, input: unknown, options?: SubmitOptions): Promise<JobHandle<Out>>;
  /** Submits many jobs of one task in one transaction; all inputs are validated before anything is stored. */
  submitMany<T extends Task>(
    task: T,
    inputs: readonly TaskInput<T>[],
    options?: SubmitOptions,
  ): Promise<JobHandle<TaskOutput<T>>[]>;
  submitMany<Out = unknown>(
    task: string,
    inputs: readonly unknown[],
    options?: SubmitOptions,
  ): Promise<JobHandle<Out>[]>;
  /** Submits and waits for the result. */
  run<T extends Task>(
    task: T,
    input: TaskInput<T>,
    options?: SubmitOptions & ResultOptions,
  ): Promise<TaskOutput<T>>;
  run<Out = unknown>(task: string, input: unknown, options?: SubmitOptions & ResultOptions): Promise<Out>;
  /** A handle on an existing job, by id. */
  job<Out = unknown>(id: string): JobHandle<Out>;
  /** The job, or a `NotFoundError` (code `JOB_NOT_FOUND`). */
  get(id: string): Promise<JobRecord>;
  list(filter?: JobFilter): Promise<JobPage>;
  events(id: string): Promise<JobEvent[]>;
  logs(id: string, options?: { afterId?: number; limit?: number }): Promise<JobLogEntry[]>;
  /**
   * A job's log lines as they are written (every stream: `log`, `stdout`, `stderr`), ending once
   * the job has finished and its last lines are read: `for await (const line of client.followLogs(id))`.
   */
  followLogs(id: string, options?: FollowLogsOptions): AsyncIterable<JobLogEntry>;
  cancel(id: string, reason?: string): Promise<JobRecord>;
  /** Runs a failed or cancelled job again, with a fresh attempt budget. */
  retry(id: string): Promise<JobRecord>;
  /**
   * Submits a flow (a builder from `createFlow`, or a JSON spec): checked as a whole (unknown
   * tasks, cycles, bad references, inputs) before anything is stored; the steps that wait for
   * nothing start at once.
   */
  submitFlow<Out = Record<string, unknown>>(
    flow: FlowBuilder | FlowSpec,
    options?: SubmitFlowOptions,
  ): Promise<FlowHandle<Out>>;
  /** A handle on an existing flow, by id. */
  flow<Out = Record<string, unknown>>(id: string): FlowHandle<Out>;
  /** The flow, or a `NotFoundError` (code `FLOW_NOT_FOUND`). */
  getFlow(id: string): Promise<FlowRecord>;
  listFlows(filter?: FlowFilter): Promise<FlowPage>;
  /** Log lines of every job of the flow (each with its step), in the order they were written. */
  flowLogs(id: string, options?: { afterId?: number; limit?: number }): Promise<FlowLogEntry[]>;
  /** Cancels a running flow: running steps are cancelled, completed ones reverted. */
  cancelFlow(id: string, reason?: string): Promise<FlowRecord>;
  close(): Promise<void>;
}

interface HandleOps {
  get(id: string): Promise<JobRecord>;
  result<Out>(id: string, options?: ResultOptions): Promise<Out>;
  cancel(id: string, reason?: string): Promise<JobRecord>;
}

/** A handle is an id plus shared methods: submitMany makes thousands, so no closures per handle. */
class Handle<Out> implements JobHandle<Out> {
  readonly #ops: HandleOps;
  readonly id: string;
  readonly deduplicated: boolean;
  constructor(ops: HandleOps, id: string, deduplicated: boolean) {
    this.#ops = ops;
    this.id = id;
    this.deduplicated = deduplicated;
  }
  async status(): Promise<JobState> {
    return (await this.#ops.get(this.id)).state;
  }
  get(): Promise<JobRecord> {
    return this.#ops.get(this.id);
  }
  result(options?: ResultOptions): Promise<Out> {
    return this.#ops.result<Out>(this.id, options);
  }
  cancel(reason?: string): Promise<JobRecord> {
    return this.#ops.cancel(this.id, reason);
  }
}

export function createClient(options: ClientOptions): Client {
  const ownsStore = typeof options.store === 'string';
  const store = typeof options.store === 'string' ? openStore(options.store) : options.store;
  const clock = options.clock ?? systemClock;
  const tasks = new Map<string, Task>((options.tasks ?? []).map((t) => [t.name, t]));
  let closed = false;
  const untrack = trackResource('client');

  const ensureOpen = () => {
    if (closed) throw new ClosedError('the client');
  };

  /** Registered defaults of tasks submitted by name without their code, kept for a few seconds. */
  const registry = new Map<string, { defaults: JobDefaults; at: number }>();

  /**
   * Registry reads of the current event-loop turn, shared by its submits: a burst of submits by
   * name (an HTTP server's requests of one turn) reads a task's defaults once, not once each.
   */
  const lookups = new Map<string, { at: number; found: Promise<TaskDefaults | null> }>();
  const lookupDefaults = (name: string): Promise<TaskDefaults | null> => {
    const now = clock.now();
    const shared = lookups.get(name);
    // A long run of submits without a turn's end (awaited one by one) reads again now and then.
    if (shared && now - shared.at < SHARED_LOOKUP_MS) return shared.found;
    if (lookups.size === 0) setImmediate(() => lookups.clear());
    const found = store.getTaskDefaults(name);
    lookups.set(name, { at: now, found });
    return found;
  };

  const resolveTask = async (
    task: Task | string,
  ): Promise<{ name: string; def: Task | undefined; defaults: JobDefaults | undefined }> => {
    if (typeof task !== 'string') return { name: task.name, def: task, defaults: task };
    const def = tasks.get(task);
    if (def) return { name: task, def, defaults: def };
    const cached = registry.get(task);
    if (cached && clock.now() - cached.at < REGISTRY_TTL_MS)
      return { name: task, def, defaults: cached.defaults };
    const defaults = (await lookupDefaults(task)) ?? undefined;
    // Only found ones are kept: a worker that registers the task soon must be seen at once.
    if (defaults) registry.set(task, { defaults, at: clock.now() });
    return { name: task, def, defaults };
  };

  const validate = (name: string, def: Task | undefined, input: unknown, path = 'input'): unknown => {
    if (!def) return input;
    const parsed = def.input.safeParse(input);
    if (!parsed.success) throw toValidationError(`invalid input for task ${name}`, parsed.error, path);
    return parsed.data;
  };

  const get = async (id: string): Promise<JobRecord> => {
    ensureOpen();
    const job = await store.getJob(id);
    if (!job) throw jobNotFound(id);
    return job;
  };

  const result = async <Out>(id: string, opts?: ResultOptions): Promise<Out> => {
    ensureOpen();
    const timeoutMs = opts?.timeout === undefined ? null : parseDuration(opts.timeout, 'timeout');
    const job = await waitForJob(store, clock, id, timeoutMs);
    if (job.state === 'succeeded') return job.output as Out;
    if (job.state === 'cancelled')
      throw new JobCancelledError(`job ${id} was cancelled: ${job.error?.message ?? ''}`);
    throw new JobFailedError(id, job.error ?? { name: 'Error', message: 'unknown error' });
  };

  const ops: HandleOps = { get, result, cancel: (id, reason) => client.cancel(id, reason) };

  const getFlow = async (id: string): Promise<FlowRecord> => {
    ensureOpen();
    const flow = await store.getFlow(id);
    if (!flow) throw flowNotFound(id);
    return flow;
  };
  const flowHandle = <Out>(id: string, deduplicated = false): FlowHandle<Out> => ({
    id,
    deduplicated,
    get: () => getFlow(id),
    async status() {
      const [flow, steps] = await Promise.all([getFlow(id), store.getFlowSteps(id)]);
      return { flow, steps: steps ?? [] };
    },
    async result(opts) {
      ensureOpen();
      const timeoutMs = opts?.timeout === undefined ? null : parseDuration(opts.timeout, 'timeout');
      return flowOutcome<Out>(await waitForFlow(store, clock, id, timeoutMs));
    },
    cancel: (reason) => client.cancelFlow(id, reason),
  });
  const stepTask = async (name: string, local: Task | undefined): Promise<StepTaskInfo | null> => {
    const found = local ? { def: local, defaults: local } : await resolveTask(name);
    if (found.def) return { ...found.def, revertible: found.def.revert !== undefined, task: found.def };
    if (!found.defaults) return null;
    return { ...found.defaults, revertible: (found.defaults as Partial<TaskDefaults>).revertible ?? false };
  };
  const handle = <Out>(id: string, deduplicated = false): JobHandle<Out> =>
    new Handle<Out>(ops, id, deduplicated);

  const client: Client = {
    ...createScheduleApi({ store, ensureOpen, resolveTask, stepTask }),
    ...createQueueApi({ store, ensureOpen }),
    store,
    async submit(task: Task | string, input: unknown, opts?: SubmitOptions) {
      ensureOpen();
      const { name, def, defaults } = await resolveTask(task);
      const { tx, ...rest } = opts ?? {};
      const job = toNewJob(name, defaults, validate(name, def, input), rest);
      const [inserted] = await store.insertJobs([job], tx === undefined ? undefined : { tx });
      if (!inserted) throw new Error('store returned no id for an inserted job');
      return handle(inserted.id, !inserted.created);
    },
    async submitMany(task: Task | string, inputs: readonly unknown[], opts?: SubmitOptions) {
      ensureOpen();
      if (!Array.isArray(inputs))
        throw new ValidationError('inputs must be an array', [{ path: 'inputs', message: 'not an array' }]);
      const { name, def, defaults } = await resolveTask(task);
      const { tx, ...rest } = opts ?? {};
      const template = toNewJob(name, defaults, null, rest, true);
      if (template.dedup && inputs.length > 1) {
        throw new ValidationError('a dedupKey applies to one job; submit jobs with keys one by one', [
          { path: 'options.dedupKey', message: 'not allowed with several inputs' },
        ]);
      }
      const keyed = typeof defaults?.concurrency?.key === 'function' && rest.concurrency === undefined;
      const jobs = inputs.map((input, i) => {
        const parsed = validate(name, def, input, `inputs.${i}`);
        return keyed
          ? { ...template, input: parsed, concurrency: concurrencyFor(defaults, parsed, rest) }
          : { ...template, input: parsed };
      });
      const inserted = await store.insertJobs(jobs, tx === undefined ? undefined : { tx });
      return inserted.map((r) => handle(r.id, !r.created));
    },
    async run(task: Task | string, input: unknown, opts?: SubmitOptions & ResultOptions) {
      const { timeout, ...submitOptions } = opts ?? {};
      const h = await client.submit(task as string, input, submitOptions);
      return h.result(timeout === undefined ? undefined : { timeout });
    },
    job: (id) => handle(id),
    get,
    list: (filter = {}) => {
      ensureOpen();
      return store.listJobs(filter);
    },
    events: (id) => {
      ensureOpen();
      return store.getJobEvents(id);
    },
    logs: (id, opts) => {
      ensureOpen();
      return store.getJobLogs(id, opts);
    },
    followLogs: (id, opts) => {
      ensureOpen();
      return followLogs(store, clock, id, opts);
    },
    cancel: (id, reason = 'cancelled by request') => {
      ensureOpen();
      return store.cancelJob(id, reason);
    },
    retry: (id) => {
      ensureOpen();
      return store.retryJob(id);
    },
    async submitFlow(flow: FlowBuilder | FlowSpec, opts?: SubmitFlowOptions) {
      ensureOpen();
      const inserted = await store.insertFlow(await toNewFlow(flow, opts ?? {}, stepTask));
      return flowHandle(inserted.id, !inserted.created);
    },
    flow: (id) => flowHandle(id),
    getFlow,
    listFlows: (filter = {}) => {
      ensureOpen();
      return store.listFlows(filter);
    },
    flowLogs: (id, opts) => {
      ensureOpen();
      return store.getFlowLogs(id, opts);
    },
    cancelFlow: (id, reason = 'cancelled by request') => {
      ensureOpen();
      return store.cancelFlow(id, reason);
    },
    async close() {
      if (closed) return;
      closed = true;
      untrack();
      if (ownsStore) await store.close();
    },
  } as Client;
  return client;
}
