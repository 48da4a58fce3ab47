import type { z } from 'zod';
import { type Duration, parseDuration } from '../core/duration.js';
import { ValidationError } from '../core/errors.js';
import type { Placement } from '../core/placement.js';
import { type RetryOptions, type RetryPolicy, resolveRetry } from '../core/retry.js';
import type { TaskContext } from './context.js';
import { taskDescription } from './json-schema.js';
import {
  type ResolvedTaskConcurrency,
  resolveTaskPlacement,
  type TaskPlacementOptions,
} from './placement.js';
import { type ResolvedSandbox, resolveSandbox, type SandboxOptions } from './sandbox.js';

export interface TaskDefinition<S extends z.ZodType, O> extends TaskPlacementOptions<z.output<S>> {
  /** Unique name; letters, digits and `_ . : -`. */
  name: string;
  /** What the task does, shown by the API and the web UI. @default the input schema's `.describe()` text */
  description?: string;
  /** Validates input at submit; the handler receives the parsed value (defaults applied). */
  input: S;
  /** Validates the handler's result before it is stored (optional). */
  output?: z.ZodType<O>;
  run(ctx: TaskContext, input: z.output<S>): Promise<O> | O;
  /**
   * Undoes a completed run, when a flow the step belongs to fails or is cancelled (steps are
   * reverted in reverse order of completion). Gets the run's input and output. Retried like `run`.
   */
  revert?(ctx: TaskContext, input: z.output<S>, output: Awaited<O>): Promise<unknown> | unknown;
  /** @default { maxAttempts: 3, backoff: '1s', factor: 2, maxBackoff: '5m', jitter: 0.25 } */
  retry?: RetryOptions;
  /** Per-attempt deadline. @default none */
  timeout?: Duration;
  /** @default 'default' */
  queue?: string;
  /** Higher runs first. @default 0 */
  priority?: number;
  /** Where its jobs run (see docs/sandboxes.md). @default 'inline' */
  sandbox?: SandboxOptions;
  /**
   * The module that exports this task, for the `process` sandbox (the child imports it): pass
   * `import.meta.url`. Needed when `sandbox` is `process`, or when submissions may ask for it.
   */
  module?: string;
}

/** A registered task. `In` is what callers submit, `Out` what `result()` returns. */
export interface Task<In = unknown, Out = unknown> {
  readonly name: string;
  /** What the task does, or null. */
  readonly description?: string | null;
  readonly input: z.ZodType;
  readonly output: z.ZodType | undefined;
  readonly run: (ctx: TaskContext, input: never) => Promise<unknown> | unknown;
  readonly revert:
    | ((ctx: TaskContext, input: never, output: never) => Promise<unknown> | unknown)
    | undefined;
  readonly retry: RetryPolicy;
  readonly timeoutMs: number | null;
  readonly queue: string;
  readonly priority: number;
  /** What its jobs need of a worker (resources, labels), or null. */
  readonly placement: Placement | null;
  readonly concurrency: ResolvedTaskConcurrency | null;
  readonly sandbox: ResolvedSandbox;
  /** The module that exports the task (for the process sandbox), or null. */
  readonly module: string | null;
  /** Type-level only: carries the input and output types to the client. */
  readonly __types?: { input: In; output: Out };
}

export type TaskInput<T> = T extends Task<infer In, unknown> ? In : never;
export type TaskOutput<T> = T extends Task<unknown, infer Out> ? Out : never;

const NAME = /^[A-Za-z0-9_.:-]{1,200}$/;

export function checkName(kind: 'task name' | 'queue', value: string, path: string): void {
  if (!NAME.test(value)) {
    throw new ValidationError(
      `${kind} must be 1-200 letters, digits or _ . : - (got ${JSON.stringify(value)})`,
      [{ path, message: 'invalid name' }],
    );
  }
}

export function checkPriority(value: number, path: string): void {
  if (!Number.isSafeInteger(value)) {
    throw new ValidationError(`${path} must be an integer`, [{ path, message: `got ${value}` }]);
  }
}

/** Defines a task: a named, typed handler with its defaults. */
export function defineTask<S extends z.ZodType, O>(
  definition: TaskDefinition<S, O>,
): Task<z.input<S>, Awaited<O>> {
  checkName('task name', definition.name, 'name');
  if (definition.queue !== undefined) checkName('queue', definition.queue, 'queue');
  if (definition.priority !== undefined) checkPriority(definition.priority, 'priority');
  if (definition.revert !== undefined && typeof definition.revert !== 'function') {
    throw new ValidationError(`task ${definition.name}: revert must be a function`, [
      { path: 'revert', message: 'not a function' },
    ]);
  }
  const sandbox = resolveSandbox(definition.sandbox);
  if (
    definition.module !== undefined &&
    (typeof definition.module !== 'string' || definition.module === '')
  ) {
    throw new ValidationError(`task ${definition.name}: module must be a file URL or path`, [
      { path: 'module', message: 'not a string' },
    ]);
  }
  if (sandbox.kind === 'process' && !definition.module) {
    throw new ValidationError(
      `task ${definition.name}: the process sandbox loads the task in a child process, so it needs \`module: import.meta.url\``,
      [{ path: 'module', message: 'missing' }],
    );
  }
  if (typeof definition.run !== 'function') {
    throw new ValidationError(`task ${definition.name}: run must be a function`, [
      { path: 'run', message: 'missing' },
    ]);
  }
  if (definition.description !== undefined && typeof definition.description !== 'string') {
    throw new ValidationError(`task ${definition.name}: description must be a string`, [
      { path: 'description', message: 'not a string' },
    ]);
  }
  return {
    name: definition.name,
    description: taskDescription(definition.description, definition.input),
    input: definition.input,
    output: definition.output,
    run: definition.run as Task['run'],
    revert: definition.revert as Task['revert'],
    retry: resolveRetry(definition.retry),
    timeoutMs: definition.timeout === undefined ? null : parseDuration(definition.timeout, 'timeout'),
    queue: definition.queue ?? 'default',
    priority: definition.priority ?? 0,
    ...resolveTaskPlacement(definition.name, definition as TaskPlacementOptions<never>),
    sandbox,
    module: definition.module ?? null,
  };
}

/** Turns zod issues into stint's, with paths under `prefix` (e.g. `input.user.email`). */
export function toValidationError(what: string, error: z.ZodError, prefix: string): ValidationError {
  const issues = error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter(Boolean).join('.'),
    message: issue.message,
  }));
  const first = issues[0];
  const summary = first ? `${first.path || prefix}: ${first.message}` : 'invalid';
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return new ValidationError(`${what}: ${summary}${more}`, issues, { cause: error });
}
