import { z } from 'zod';
import { ValidationError, type ValidationIssue } from '../core/errors.js';
import type { RetryOptions } from '../core/retry.js';

/**
 * The flow spec: plain JSON, produced by the builder or written by hand (CLI, HTTP API).
 *
 * ```json
 * { "name": "CreateVirtualMachine", "onFailure": "revert",
 *   "steps": [
 *     { "name": "net", "task": "createNetwork", "input": { "cidr": { "$ref": "store.cidr" } } },
 *     { "name": "ip", "task": "allocateIp", "input": { "networkId": { "$ref": "steps.net.output.id" } } },
 *     { "name": "disks", "task": "attachDisk", "map": { "over": { "$ref": "store.disks" }, "concurrency": 20 },
 *       "input": { "size": { "$ref": "item.size" } } } ] }
 * ```
 *
 * A value `{ "$ref": "…" }` anywhere in a step's input is replaced by what it names when the step
 * becomes ready: `store.<key>…` (the values given at submit), `steps.<name>.output…` (a completed
 * step's output) or, inside a map's input, `item…` (the list element). A step runs after every step
 * it refers to and every step in its `after`.
 */
export interface FlowSpec {
  name: string;
  /** What a failed step does to the flow. @default 'revert' */
  onFailure?: FailurePolicy;
  steps: StepSpec[];
}

/**
 * `revert`: stop scheduling, cancel running steps, revert completed ones in reverse completion order.
 * `continue`: the step fails, steps that need it are skipped, everything else runs.
 */
export type FailurePolicy = 'revert' | 'continue';

export interface StepSpec {
  name: string;
  task: string;
  /** The task's input; may hold `{ "$ref": … }` values. In a map, the input of each item. @default {} */
  input?: unknown;
  /** Steps that must succeed first, beyond those the input refers to. */
  after?: string[];
  /** Runs the task once per element of `over` (a list or a reference to one), at most `concurrency` at once. */
  map?: { over: unknown; concurrency?: number };
  onFailure?: FailurePolicy;
  retry?: RetryOptions;
  timeout?: number | string;
  queue?: string;
  priority?: number;
}

/** A parsed `$ref`: where the value comes from, and the path below it. */
export type Ref =
  | { source: 'store'; path: string[] }
  | { source: 'step'; step: string; path: string[] }
  | { source: 'item'; path: string[] };

const STEP_NAME = /^[A-Za-z0-9_-]{1,100}$/;
const policy = z.enum(['revert', 'continue']);

const stepSchema = z.strictObject({
  name: z.string().regex(STEP_NAME, 'step names are 1-100 letters, digits, _ or -'),
  task: z.string().min(1),
  input: z.unknown().optional(),
  after: z.array(z.string()).optional(),
  map: z
    .strictObject({
      over: z.unknown(),
      concurrency: z.number().int().min(1).max(100_000).optional(),
    })
    .optional(),
  onFailure: policy.optional(),
  retry: z
    .strictObject({
      maxAttempts: z.number().int().min(1).optional(),
      backoff: z.union([z.number(), z.string()]).optional(),
      factor: z.number().min(1).optional(),
      maxBackoff: z.union([z.number(), z.string()]).optional(),
      jitter: z.number().min(0).max(1).optional(),
    })
    .optional(),
  timeout: z.union([z.number().positive(), z.string()]).optional(),
  queue: z.string().optional(),
  priority: z.number().int().optional(),
});

/** The shape of a flow spec (the HTTP API validates and documents bodies with it). */
export const flowSpecSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.:-]{1,200}$/, 'flow names are 1-200 letters, digits or _ . : -'),
  onFailure: policy.optional(),
  steps: z.array(stepSchema).min(1, 'a flow needs at least one step').max(100_000),
});

/** Parses a `$ref` string; throws a message (no path) when it is malformed. */
export function parseRef(text: string): Ref {
  const parts = text.split('.');
  const [head, ...rest] = parts;
  if (parts.some((p) => p === '')) throw new Error(`"${text}" has an empty segment`);
  if (head === 'store') {
    if (rest.length === 0) throw new Error(`"${text}" must name a store key, e.g. store.cidr`);
    return { source: 'store', path: rest };
  }
  if (head === 'item') return { source: 'item', path: rest };
  if (head === 'steps') {
    const [step, output, ...path] = rest;
    if (step === undefined || output !== 'output')
      throw new Error(`"${text}" must look like steps.<name>.output[.<field>…]`);
    return { source: 'step', step, path };
  }
  throw new Error(`"${text}" must start with store., steps. or item`);
}

export function formatRef(ref: Ref): string {
  const head = ref.source === 'step' ? `steps.${ref.step}.output` : ref.source;
  return [head, ...ref.path].join('.');
}

/** Is `value` a `{ "$ref": "…" }` object? */
export function isRefValue(value: unknown): value is { $ref: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as { $ref?: unknown }).$ref === 'string' &&
    Object.keys(value).length === 1
  );
}

/** Every reference in a value, with the dotted path where it sits. Throws on malformed ones. */
export function collectRefs(value: unknown, at: string, out: { at: string; ref: Ref }[] = []) {
  if (isRefValue(value)) {
    out.push({ at, ref: parseRef(value.$ref) });
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => {
      collectRefs(v, `${at}.${i}`, out);
    });
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) collectRefs(v, `${at}.${k}`, out);
  }
  return out;
}

/** A step after validation: what it waits for. */
export interface CheckedStep extends StepSpec {
  /** Steps this one needs (referenced or in `after`), without repeats. */
  deps: string[];
}

/**
 * Validates a spec's shape and graph: unique names, references to steps that exist, `item` only
 * inside a map, store keys that were given, no cycles. Throws a `ValidationError` whose issues name
 * the step and field; returns the steps with their dependencies.
 * `known` names steps that already exist (for steps added by a running step).
 */
export function checkFlowSpec(
  spec: unknown,
  options: { store?: Record<string, unknown> | null; known?: ReadonlySet<string> } = {},
): { spec: FlowSpec; steps: CheckedStep[] } {
  const parsed = flowSpecSchema.safeParse(spec);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({
      path: pathOf(spec, i.path),
      message: i.message,
    }));
    throw flowError('invalid flow spec', issues);
  }
  const flow = parsed.data as FlowSpec;
  const steps = checkSteps(flow.steps, options);
  return { spec: flow, steps };
}

/** Validates steps (new ones, or a whole flow) against each other and `known` steps. */
export function checkSteps(
  steps: readonly StepSpec[],
  options: { store?: Record<string, unknown> | null; known?: ReadonlySet<string> } = {},
): CheckedStep[] {
  const issues: ValidationIssue[] = [];
  const known = options.known ?? new Set<string>();
  const names = new Set<string>();
  for (const [i, step] of steps.entries()) {
    if (names.has(step.name) || known.has(step.name))
      issues.push({ path: `steps.${i}.name`, message: `step name "${step.name}" is used twice` });
    names.add(step.name);
  }
  const exists = (name: string) => names.has(name) || known.has(name);
  const checked: CheckedStep[] = [];
  for (const [i, step] of steps.entries()) {
    const label = `step ${step.name}`;
    const deps = new Set<string>();
    const refs: { at: string; ref: Ref; inMap: boolean }[] = [];
    try {
      for (const r of collectRefs(step.input, 'input')) refs.push({ ...r, inMap: step.map !== undefined });
      if (step.map) for (const r of collectRefs(step.map.over, 'map.over')) refs.push({ ...r, inMap: false });
    } catch (err) {
      issues.push({ path: `steps.${i}`, message: `${label}: bad reference: ${(err as Error).message}` });
    }
    for (const { at, ref, inMap } of refs) {
      if (ref.source === 'step') {
        if (ref.step === step.name)
          issues.push({ path: `steps.${i}.${at}`, message: `${label}: refers to its own output` });
        else if (!exists(ref.step))
          issues.push({
            path: `steps.${i}.${at}`,
            message: `${label}: ${at} refers to step "${ref.step}", which is not in the flow`,
          });
        else deps.add(ref.step);
      } else if (ref.source === 'item' && !inMap) {
        issues.push({
          path: `steps.${i}.${at}`,
          message: `${label}: ${at} uses "item", which exists only in the input of a map step`,
        });
      } else if (ref.source === 'store' && options.store !== undefined) {
        const key = ref.path[0] as string;
        if (!options.store || !Object.hasOwn(options.store, key))
          issues.push({
            path: `steps.${i}.${at}`,
            message: `${label}: ${at} refers to store.${key}, which was not given at submit`,
          });
      }
    }
    for (const [j, dep] of (step.after ?? []).entries()) {
      if (dep === step.name)
        issues.push({ path: `steps.${i}.after.${j}`, message: `${label}: waits for itself` });
      else if (!exists(dep))
        issues.push({
          path: `steps.${i}.after.${j}`,
          message: `${label}: after names step "${dep}", which is not in the flow`,
        });
      else deps.add(dep);
    }
    checked.push({ ...step, deps: [...deps] });
  }
  if (issues.length === 0) {
    const cycle = findCycle(checked);
    if (cycle)
      issues.push({ path: 'steps', message: `the steps form a cycle: ${[...cycle, cycle[0]].join(' -> ')}` });
  }
  if (issues.length > 0) throw flowError('invalid flow spec', issues);
  return checked;
}

/** A cycle among the steps (names in order), or null. Known steps outside `steps` end every path. */
export function findCycle(steps: readonly CheckedStep[]): string[] | null {
  const byName = new Map(steps.map((s) => [s.name, s]));
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string): string[] | null => {
    const mark = state.get(name);
    if (mark === 'done') return null;
    if (mark === 'open') return stack.slice(stack.indexOf(name));
    const step = byName.get(name);
    if (!step) return null;
    state.set(name, 'open');
    stack.push(name);
    for (const dep of step.deps) {
      const found = visit(dep);
      if (found) return found;
    }
    stack.pop();
    state.set(name, 'done');
    return null;
  };
  for (const s of steps) {
    const found = visit(s.name);
    if (found) return found;
  }
  return null;
}

function flowError(what: string, issues: ValidationIssue[]): ValidationError {
  const first = issues[0];
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return new ValidationError(`${what}: ${first ? `${first.path}: ${first.message}` : ''}${more}`, issues);
}

/** A zod path as dotted text, naming the step where the path goes through one. */
function pathOf(spec: unknown, path: readonly PropertyKey[]): string {
  const text = path.map(String).join('.');
  if (path[0] === 'steps' && typeof path[1] === 'number') {
    const step = (spec as { steps?: { name?: unknown }[] }).steps?.[path[1]];
    if (typeof step?.name === 'string') return `${text} (step ${step.name})`;
  }
  return text;
}
