import { ValidationError } from '../core/errors.js';
import {
  type ConcurrencyLimit,
  checkConcurrency,
  checkPlacement,
  type LabelRequirements,
  type Placement,
  type Resources,
} from '../core/placement.js';

/** A task's limit on how many of its jobs run at once across the cluster. */
export interface TaskConcurrency<I = never> {
  /** Running jobs per key at most. */
  limit: number;
  /**
   * The key jobs are counted by: a fixed string, or one computed from the job's input (one limit
   * per customer: `(input) => input.customerId`). @default the task's name
   */
  key?: string | ((input: I) => string);
}

export interface ResolvedTaskConcurrency {
  limit: number;
  key: string | ((input: unknown) => string);
}

/** The placement fields of a task definition. */
export interface TaskPlacementOptions<I> {
  /** What each job takes of its worker while it runs, e.g. `{ cpu: 2, memoryMb: 4096 }`. */
  resources?: Resources;
  /** Labels the worker must have: a string must match, `true` asks only for the label. */
  labels?: LabelRequirements;
  concurrency?: TaskConcurrency<I>;
}

export function resolveTaskPlacement(
  name: string,
  options: TaskPlacementOptions<never>,
): { placement: Placement | null; concurrency: ResolvedTaskConcurrency | null } {
  const placement = checkPlacement(options.resources, options.labels, {
    resources: 'resources',
    labels: 'labels',
  });
  if (options.concurrency === undefined) return { placement, concurrency: null };
  const c = options.concurrency as TaskConcurrency<unknown>;
  const key = c.key ?? name;
  if (typeof key !== 'function') checkConcurrency({ key, limit: c.limit }, 'concurrency');
  else checkConcurrency({ key: 'k', limit: c.limit }, 'concurrency');
  return { placement, concurrency: { limit: c.limit, key } };
}

/** The concurrency limit of one job of the task, its key computed from the input when it is a function. */
export function jobConcurrency(
  concurrency: ResolvedTaskConcurrency | ConcurrencyLimit | null | undefined,
  input: unknown,
): ConcurrencyLimit | null {
  if (!concurrency) return null;
  if (typeof concurrency.key === 'string') return { key: concurrency.key, limit: concurrency.limit };
  let key: unknown;
  try {
    key = concurrency.key(input);
  } catch (err) {
    throw new ValidationError(`the task's concurrency key failed on this input: ${(err as Error).message}`, [
      { path: 'input', message: 'concurrency key failed' },
    ]);
  }
  return checkConcurrency({ key, limit: concurrency.limit }, 'concurrency');
}

/** What a worker registers of a task: its concurrency limit only when the key does not depend on input. */
export function registrableConcurrency(c: ResolvedTaskConcurrency | null): ConcurrencyLimit | null {
  return c && typeof c.key === 'string' ? { key: c.key, limit: c.limit } : null;
}
