import { type Duration, parseDuration } from '../core/duration.js';
import { NotFoundError, ValidationError } from '../core/errors.js';
import type {
  QueueSettings,
  QueueStats,
  ShedPolicy,
  Store,
  TaskInfo,
  WorkerRecord,
  WorkerRecordState,
} from '../store/types.js';
import { checkName } from '../task/define.js';

/** Changes to a queue's settings; a field left out keeps its value, `null` removes the limit. */
export interface QueueSettingsInput {
  /** Pending jobs the queue admits; `null` for no limit. */
  maxPending?: number | null;
  /** What a full queue does with a new job. @default 'reject' */
  shedPolicy?: ShedPolicy;
  /** At most `limit` job starts per `period` across every worker; `null` for no limit. */
  rateLimit?: { limit: number; period: Duration } | null;
}

/** Queues (settings, depth, throughput) and the worker registry. */
export interface QueueApi {
  setQueue(name: string, settings: QueueSettingsInput): Promise<QueueSettings>;
  getQueue(name: string): Promise<QueueSettings>;
  /** Every queue with jobs or settings: depth per state, jobs finished in the last minute, workers. */
  listQueues(): Promise<QueueStats[]>;
  /** Workers, active first: what each runs, has, uses, and its last heartbeat. */
  listWorkers(filter?: { state?: WorkerRecordState }): Promise<WorkerRecord[]>;
  /** Tasks workers have registered, by name: defaults, input schema (JSON Schema) and description. */
  listTasks(): Promise<TaskInfo[]>;
  /** A registered task, or a `NotFoundError` (code `TASK_NOT_FOUND`) when no worker registered it. */
  getTask(name: string): Promise<TaskInfo>;
}

/** The error for a name no worker has registered. */
export function taskNotFound(name: string): NotFoundError {
  return new NotFoundError('TASK_NOT_FOUND', `task ${name} is not registered (no worker has run it)`);
}

function fail(path: string, message: string): never {
  throw new ValidationError(`${path}: ${message}`, [{ path, message }]);
}

const KNOWN = new Set(['maxPending', 'shedPolicy', 'rateLimit']);

/** Checks settings input; returns the store's patch. */
export function toQueuePatch(input: QueueSettingsInput): Partial<Omit<QueueSettings, 'name'>> {
  if (typeof input !== 'object' || input === null) fail('settings', 'must be an object');
  for (const key of Object.keys(input)) {
    if (!KNOWN.has(key)) fail(`settings.${key}`, `unknown setting (known: ${[...KNOWN].join(', ')})`);
  }
  const patch: Partial<Omit<QueueSettings, 'name'>> = {};
  if (input.maxPending !== undefined) {
    if (input.maxPending !== null && (!Number.isSafeInteger(input.maxPending) || input.maxPending < 1))
      fail('settings.maxPending', 'must be a positive integer, or null for no limit');
    patch.maxPending = input.maxPending;
  }
  if (input.shedPolicy !== undefined) {
    if (input.shedPolicy !== 'reject' && input.shedPolicy !== 'drop_lowest_priority')
      fail('settings.shedPolicy', "must be 'reject' or 'drop_lowest_priority'");
    patch.shedPolicy = input.shedPolicy;
  }
  if (input.rateLimit !== undefined) {
    if (input.rateLimit === null) patch.rateLimit = null;
    else {
      const { limit, period } = input.rateLimit;
      if (!Number.isSafeInteger(limit) || limit < 1)
        fail('settings.rateLimit.limit', 'must be a positive integer');
      const periodMs = parseDuration(period, 'settings.rateLimit.period');
      if (periodMs < 1) fail('settings.rateLimit.period', 'must be at least 1ms');
      patch.rateLimit = { limit, periodMs };
    }
  }
  return patch;
}

export function createQueueApi(deps: { store: Store; ensureOpen: () => void }): QueueApi {
  const { store, ensureOpen } = deps;
  return {
    async setQueue(name, settings) {
      ensureOpen();
      checkName('queue', name, 'name');
      return store.setQueue(name, toQueuePatch(settings));
    },
    async getQueue(name) {
      ensureOpen();
      checkName('queue', name, 'name');
      return store.getQueue(name);
    },
    async listQueues() {
      ensureOpen();
      return store.listQueues();
    },
    async listWorkers(filter) {
      ensureOpen();
      const state = filter?.state;
      if (state !== undefined && state !== 'active' && state !== 'stopped' && state !== 'gone')
        fail('filter.state', "must be 'active', 'stopped' or 'gone'");
      return store.listWorkers(state ? { state } : undefined);
    },
    async listTasks() {
      ensureOpen();
      return store.listTasks();
    },
    async getTask(name) {
      ensureOpen();
      checkName('task name', name, 'name');
      const task = (await store.listTasks()).find((t) => t.name === name);
      if (!task) throw taskNotFound(name);
      return task;
    },
  };
}
