import { type Duration, parseDuration } from '../core/duration.js';
import { ValidationError } from '../core/errors.js';
import {
  type ConcurrencyLimit,
  checkConcurrency,
  checkPlacement,
  type LabelRequirements,
  type Placement,
  type Resources,
} from '../core/placement.js';
import { type RetryOptions, resolveRetry } from '../core/retry.js';
import type { NewJob } from '../store/types.js';
import { checkName, checkPriority, type Task } from '../task/define.js';
import { jobConcurrency, type ResolvedTaskConcurrency } from '../task/placement.js';
import { checkSandboxOverride, type SandboxOverride, sandboxForJob } from '../task/sandbox.js';

/** Options of one submission; each overrides the task's default. */
export interface SubmitOptions {
  /** Start no earlier than this time. */
  runAt?: Date | number;
  /** Start no earlier than this long after submission (judged by the store's clock). */
  delay?: Duration;
  /** Higher runs first. @default the task's priority, else 0 */
  priority?: number;
  /** @default the task's queue, else 'default' */
  queue?: string;
  /** Attempts in all. @default the task's retry.maxAttempts, else 3 */
  maxAttempts?: number;
  /** Overrides the task's retry policy, field by field. */
  retry?: RetryOptions;
  /** Per-attempt deadline. @default the task's timeout, else none */
  timeout?: Duration;
  /**
   * A second submission with the same key, while the key is held, returns the first job's id and
   * creates nothing.
   */
  dedupKey?: string;
  /**
   * How long the key is held, from the first submission. Without it, the key is held until that
   * job finishes.
   */
  dedupWindow?: Duration;
  /** Free-form JSON stored with the job. */
  metadata?: Record<string, unknown>;
  /** What this job takes of its worker, replacing the task's `resources` (`{}` for none). */
  resources?: Resources;
  /** Labels its worker must have, replacing the task's `labels` (`{}` for none). */
  labels?: LabelRequirements;
  /** Runs at most `limit` at once with other jobs of `key`, replacing the task's limit (`null` for none). */
  concurrency?: ConcurrencyLimit | null;
  /**
   * Changes the task's sandbox for this job: `'process'` / `'inline'`, or `{ kind?, memoryMb? }`
   * (a shell task stays a shell task). @default the task's sandbox
   */
  sandbox?: SandboxOverride | 'inline' | 'process';
  /**
   * PostgreSQL only: a `pg` client inside your open transaction. The job is inserted with it and
   * exists if and only if your transaction commits.
   */
  tx?: unknown;
}

const KNOWN = new Set([
  'runAt',
  'delay',
  'priority',
  'queue',
  'maxAttempts',
  'retry',
  'timeout',
  'dedupKey',
  'dedupWindow',
  'metadata',
  'resources',
  'labels',
  'concurrency',
  'sandbox',
  'tx',
]);

function fail(path: string, message: string): never {
  throw new ValidationError(`${path}: ${message}`, [{ path, message }]);
}

/** Where a job's defaults come from: the task itself, or its registration in the store. */
export type JobDefaults = Pick<Task, 'queue' | 'priority' | 'retry' | 'timeoutMs'> & {
  placement?: Placement | null;
  concurrency?: ResolvedTaskConcurrency | ConcurrencyLimit | null;
};

/** Resolves options against the task's defaults into the row the store inserts. */
export function toNewJob(
  taskName: string,
  task: JobDefaults | undefined,
  input: unknown,
  options: SubmitOptions = {},
  /** A template for several inputs: a concurrency key computed from the input is left to `concurrencyFor`. */
  template = false,
): NewJob {
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) fail(`options.${key}`, `unknown option (known: ${[...KNOWN].join(', ')})`);
  }
  const queue = options.queue ?? task?.queue ?? 'default';
  checkName('queue', queue, 'options.queue');
  const priority = options.priority ?? task?.priority ?? 0;
  checkPriority(priority, 'options.priority');

  let retry = task?.retry ?? resolveRetry(undefined);
  if (options.retry || options.maxAttempts !== undefined) {
    retry = resolveRetry(
      {
        ...options.retry,
        ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
      },
      retry,
    );
  }

  const job: NewJob = {
    task: taskName,
    queue,
    input,
    priority,
    retry,
    timeoutMs:
      options.timeout !== undefined
        ? parseDuration(options.timeout, 'options.timeout')
        : (task?.timeoutMs ?? null),
    metadata: options.metadata ?? null,
    dedup: null,
    ...jobPlacement(task, template ? TEMPLATE : input, options),
  };
  if (job.timeoutMs !== null && job.timeoutMs < 1) fail('options.timeout', 'must be at least 1ms');
  if (
    options.metadata !== undefined &&
    (typeof options.metadata !== 'object' || options.metadata === null || Array.isArray(options.metadata))
  ) {
    fail('options.metadata', 'must be a plain object');
  }

  const sandbox = checkSandboxOverride(options.sandbox);
  if (sandbox) {
    // A task known here is checked now (a shell task cannot run inline); others when they run.
    if (task && 'sandbox' in task) sandboxForJob((task as Task).sandbox, sandbox);
    job.sandbox = sandbox;
  }

  if (options.runAt !== undefined && options.delay !== undefined)
    fail('options.delay', 'give runAt or delay, not both');
  if (options.runAt !== undefined) {
    const at = options.runAt instanceof Date ? options.runAt.getTime() : options.runAt;
    if (!Number.isFinite(at)) fail('options.runAt', 'must be a valid Date or a time in milliseconds');
    job.runAt = at;
  } else if (options.delay !== undefined) {
    job.delayMs = parseDuration(options.delay, 'options.delay');
  }

  if (options.dedupWindow !== undefined && options.dedupKey === undefined) {
    fail('options.dedupWindow', 'needs a dedupKey');
  }
  if (options.dedupKey !== undefined) {
    if (
      typeof options.dedupKey !== 'string' ||
      options.dedupKey.length === 0 ||
      options.dedupKey.length > 500
    ) {
      fail('options.dedupKey', 'must be a string of 1-500 characters');
    }
    const windowMs =
      options.dedupWindow === undefined ? null : parseDuration(options.dedupWindow, 'options.dedupWindow');
    job.dedup = { key: options.dedupKey, windowMs };
  }
  return job;
}

/**
 * The job's placement and concurrency limit: the task's, with the submission's `resources`,
 * `labels` and `concurrency` replacing theirs. A key computed from the input uses `input`; for a
 * template (`submitMany`) that is left to `concurrencyFor`.
 */
const TEMPLATE = Symbol('template');

function jobPlacement(
  task: JobDefaults | undefined,
  input: unknown,
  options: SubmitOptions,
): Pick<NewJob, 'placement' | 'concurrency'> {
  const own = task?.placement ?? null;
  const placement =
    options.resources === undefined && options.labels === undefined
      ? own
      : checkPlacement(options.resources ?? own?.resources, options.labels ?? own?.labels, {
          resources: 'options.resources',
          labels: 'options.labels',
        });
  const concurrency =
    options.concurrency === undefined
      ? input === TEMPLATE && typeof task?.concurrency?.key === 'function'
        ? null
        : jobConcurrency(task?.concurrency, input)
      : options.concurrency === null
        ? null
        : checkConcurrency(options.concurrency, 'options.concurrency');
  return { placement, concurrency };
}

/** A job's concurrency limit for one input of `submitMany` (the task's key may depend on it). */
export function concurrencyFor(task: JobDefaults | undefined, input: unknown, options: SubmitOptions) {
  return jobPlacement(task, input, options).concurrency;
}
