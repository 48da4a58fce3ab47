import type { Duration } from '../core/duration.js';
import { ValidationError } from '../core/errors.js';
import type { RetryOptions } from '../core/retry.js';
import type { Task, TaskInput, TaskOutput } from '../task/define.js';
import type { FailurePolicy, FlowSpec, StepSpec } from './spec.js';

const REF = Symbol('stint.ref');

/**
 * A reference to a value that exists only once the flow runs: a store value, a step's output, or
 * a map's item. Reading a property gives a reference to that field (`net.output.id`). In a step's
 * input it stands for the value; in the JSON spec it is `{ "$ref": "steps.net.output.id" }`.
 */
export type Ref<T> = { readonly [REF]: string } & (T extends readonly (infer E)[]
  ? { readonly [index: number]: Ref<E> }
  : T extends Record<string, unknown>
    ? { readonly [K in keyof T]-?: Ref<T[K]> }
    : unknown);

/** A value, or a reference to one, at any depth. */
export type Refable<T> =
  | T
  | Ref<T>
  | (T extends readonly (infer E)[]
      ? readonly Refable<E>[]
      : T extends Record<string, unknown>
        ? { [K in keyof T]: Refable<T[K]> }
        : never);

/** A step in a builder: its name, and a reference to its output. */
export interface StepHandle<Out = unknown> {
  readonly name: string;
  readonly output: Ref<Out>;
}

export interface StepOptions {
  /** Unique in the flow. @default the task's name, with `-2`, `-3` … when used again */
  name?: string;
  /** Steps that must succeed first, beyond those the input refers to. */
  after?: readonly (StepHandle | string)[];
  /** @default the flow's */
  onFailure?: FailurePolicy;
  /** Overrides the task's retry policy, field by field. */
  retry?: RetryOptions;
  /** Per-attempt deadline. @default the task's */
  timeout?: Duration;
  queue?: string;
  priority?: number;
}

export interface MapOptions extends StepOptions {
  /** Items running at once. @default all */
  concurrency?: number;
}

/** Makes a reference to `path` (`store.cidr`, `steps.net.output`, `item`). */
export function makeRef<T = unknown>(path: string): Ref<T> {
  return new Proxy(Object.create(null) as object, {
    get(_, prop) {
      if (prop === REF) return path;
      if (prop === 'toJSON') return () => ({ $ref: path });
      if (typeof prop === 'symbol') return undefined;
      if (prop.includes('.'))
        throw new ValidationError(`a reference cannot go through a field with a dot in its name (${prop})`, [
          { path, message: `field ${prop}` },
        ]);
      return makeRef(`${path}.${prop}`);
    },
  }) as Ref<T>;
}

/** The path of a reference, or undefined for any other value. */
export function refPath(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const path = (value as { [REF]?: unknown })[REF];
  return typeof path === 'string' ? path : undefined;
}

/** Replaces references in a builder input with their JSON form `{ "$ref": … }`. */
export function toTemplate(value: unknown): unknown {
  const path = refPath(value);
  if (path !== undefined) return { $ref: path };
  if (Array.isArray(value)) return value.map(toTemplate);
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toTemplate(v);
    return out;
  }
  if (value instanceof Date) return value.toISOString();
  return value;
}

/**
 * Collects steps into a spec: shared by the flow builder and by `ctx.flow.add` (steps a running
 * step adds to its own flow).
 */
export class StepCollector {
  readonly steps: StepSpec[] = [];
  /** Task objects used, by name: their schemas and defaults travel with the spec. */
  readonly tasks = new Map<string, Task>();
  readonly #taken: (name: string) => boolean;

  constructor(taken: (name: string) => boolean = () => false) {
    this.#taken = taken;
  }

  #name(task: string, requested: string | undefined): string {
    const used = (n: string) => this.#taken(n) || this.steps.some((s) => s.name === n);
    if (requested !== undefined) return requested;
    const base = task.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 90);
    if (!used(base)) return base;
    for (let i = 2; ; i++) if (!used(`${base}-${i}`)) return `${base}-${i}`;
  }

  #spec(task: Task | string, input: unknown, options: StepOptions): StepSpec {
    const taskName = typeof task === 'string' ? task : task.name;
    if (typeof task !== 'string') this.tasks.set(task.name, task);
    const spec: StepSpec = { name: this.#name(taskName, options.name), task: taskName };
    const template = toTemplate(input);
    if (template !== undefined) spec.input = template;
    if (options.after && options.after.length > 0)
      spec.after = options.after.map((a) => (typeof a === 'string' ? a : a.name));
    if (options.onFailure) spec.onFailure = options.onFailure;
    if (options.retry) spec.retry = options.retry;
    if (options.timeout !== undefined) spec.timeout = options.timeout;
    if (options.queue !== undefined) spec.queue = options.queue;
    if (options.priority !== undefined) spec.priority = options.priority;
    return spec;
  }

  step(task: Task | string, input: unknown, options: StepOptions = {}): StepHandle {
    const spec = this.#spec(task, input, options);
    this.steps.push(spec);
    return { name: spec.name, output: makeRef(`steps.${spec.name}.output`) };
  }

  map(
    task: Task | string,
    over: unknown,
    input: (item: Ref<unknown>) => unknown,
    options: MapOptions = {},
  ): StepHandle {
    const { concurrency } = options;
    if (concurrency !== undefined && (!Number.isSafeInteger(concurrency) || concurrency < 1))
      throw new ValidationError(`map concurrency must be a whole number of at least 1 (got ${concurrency})`, [
        { path: 'concurrency', message: `got ${concurrency}` },
      ]);
    const spec = this.#spec(task, input(makeRef('item')), options);
    spec.map = { over: toTemplate(over) };
    if (options.concurrency !== undefined) spec.map.concurrency = options.concurrency;
    this.steps.push(spec);
    return { name: spec.name, output: makeRef(`steps.${spec.name}.output`) };
  }
}

/** Adds steps: `step` runs a task once, `map` once per element of a list. */
export interface StepAdder {
  step<T extends Task>(
    task: T,
    input: Refable<TaskInput<T>>,
    options?: StepOptions,
  ): StepHandle<TaskOutput<T>>;
  step<Out = unknown>(task: string, input: unknown, options?: StepOptions): StepHandle<Out>;
  map<T extends Task, E>(
    task: T,
    over: Ref<readonly E[]> | readonly E[],
    input: (item: Ref<E>) => Refable<TaskInput<T>>,
    options?: MapOptions,
  ): StepHandle<TaskOutput<T>[]>;
}

export interface FlowBuilder<S extends Record<string, unknown> = Record<string, unknown>> extends StepAdder {
  readonly name: string;
  /** References to the values given at submit (`submitFlow(f, { store })`). */
  readonly store: { readonly [K in keyof S]-?: Ref<S[K]> };
  /** The plain JSON spec. */
  toSpec(): FlowSpec;
  /** Task objects the steps use (the client validates inputs with them). */
  readonly tasks: ReadonlyMap<string, Task>;
}

/**
 * Starts a flow: add steps with `step` and `map`, then `client.submitFlow(flow, { store })`.
 *
 *   const f = createFlow<{ cidr: string }>('CreateVirtualMachine');
 *   const net = f.step(createNetwork, { cidr: f.store.cidr });
 *   const ip = f.step(allocateIp, { networkId: net.output.id });
 */
export function createFlow<S extends Record<string, unknown> = Record<string, unknown>>(
  name: string,
  options: { onFailure?: FailurePolicy } = {},
): FlowBuilder<S> {
  const steps = new StepCollector();
  return {
    name,
    store: makeRef('store') as unknown as FlowBuilder<S>['store'],
    step: (task: Task | string, input: unknown, opts?: StepOptions) => steps.step(task, input, opts),
    map: (task: Task | string, over: unknown, input: (item: Ref<unknown>) => unknown, opts?: MapOptions) =>
      steps.map(task, over, input, opts),
    toSpec: () => ({
      name,
      ...(options.onFailure ? { onFailure: options.onFailure } : {}),
      steps: structuredClone(steps.steps),
    }),
    tasks: steps.tasks,
  } as FlowBuilder<S>;
}

/** Is this a builder (rather than a JSON spec)? */
export function isFlowBuilder(value: unknown): value is FlowBuilder {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { toSpec?: unknown }).toSpec === 'function' &&
    (value as { tasks?: unknown }).tasks instanceof Map
  );
}
