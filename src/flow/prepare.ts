import type { z } from 'zod';
import { parseDuration } from '../core/duration.js';
import { ValidationError, type ValidationIssue } from '../core/errors.js';
import { type RetryPolicy, resolveRetry } from '../core/retry.js';
import { checkName, checkPriority, type Task, toValidationError } from '../task/define.js';
import { hasRefs } from './resolve.js';
import { type CheckedStep, collectRefs } from './spec.js';
import type { NewStep } from './types.js';

/** What a step needs to know of its task: defaults, whether it reverts, and the code when at hand. */
export interface StepTaskInfo {
  queue: string;
  priority: number;
  retry: RetryPolicy;
  timeoutMs: number | null;
  revertible: boolean;
  /** The task object, when this process has it: inputs and output references are checked with it. */
  task?: Task;
}

/**
 * Turns checked steps into the rows the store inserts: each step's job template (the task's
 * defaults with the step's overrides), inputs without references validated against the task's
 * schema now, and references into outputs checked against the task's output schema where it has one.
 * `lookup` gives a task's info by name, or null for a task nobody registered. All problems are
 * reported together, each naming the step and field.
 */
export async function prepareSteps(
  steps: readonly CheckedStep[],
  lookup: (task: string) => Promise<StepTaskInfo | null> | StepTaskInfo | null,
  existing: ReadonlyMap<string, StepTaskInfo> = new Map(),
): Promise<NewStep[]> {
  const issues: ValidationIssue[] = [];
  const infos = new Map<string, StepTaskInfo>(existing);
  const out: NewStep[] = [];
  for (const [i, step] of steps.entries()) {
    const at = `steps.${i}`;
    const info = await lookup(step.task);
    if (!info) {
      issues.push({
        path: `${at}.task`,
        message: `step ${step.name}: unknown task "${step.task}" (no worker has registered it, and this process was not given it)`,
      });
      continue;
    }
    infos.set(step.name, info);
    try {
      out.push({
        name: step.name,
        task: step.task,
        input: checkInput(step, info, at),
        deps: step.deps,
        map: step.map ? { over: step.map.over, concurrency: step.map.concurrency ?? null } : null,
        onFailure: step.onFailure ?? null,
        revertible: info.revertible,
        job: jobTemplate(step, info, at),
      });
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      issues.push(...err.issues);
    }
  }
  for (const [i, step] of steps.entries()) issues.push(...checkOutputRefs(step, i, infos));
  if (issues.length > 0) {
    const first = issues[0] as ValidationIssue;
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    throw new ValidationError(`invalid flow: ${first.path}: ${first.message}${more}`, issues);
  }
  return out;
}

function checkInput(step: CheckedStep, info: StepTaskInfo, at: string): unknown {
  // A step given no input gets an empty object (what a task without parameters takes).
  const input = step.input === undefined ? {} : step.input;
  // Inputs with references are checked when they are resolved (by the worker, before the step runs).
  if (!info.task || step.map || hasRefs(input)) return input;
  const parsed = info.task.input.safeParse(input);
  if (!parsed.success) {
    const error = toValidationError(
      `step ${step.name}: invalid input for task ${step.task}`,
      parsed.error,
      `${at}.input`,
    );
    throw new ValidationError(
      error.message,
      error.issues.map((i) => ({
        ...i,
        message: `step ${step.name}: invalid input for task ${step.task}: ${i.message}`,
      })),
    );
  }
  return parsed.data;
}

function jobTemplate(step: CheckedStep, info: StepTaskInfo, at: string) {
  const queue = step.queue ?? info.queue;
  checkName('queue', queue, `${at}.queue`);
  const priority = step.priority ?? info.priority;
  checkPriority(priority, `${at}.priority`);
  const timeoutMs =
    step.timeout !== undefined ? parseDuration(step.timeout, `${at}.timeout`) : info.timeoutMs;
  return {
    queue,
    priority,
    retry: step.retry ? resolveRetry(step.retry, info.retry) : info.retry,
    timeoutMs,
  };
}

/** References to `steps.x.output.a.b` where x's task declares an output schema without `a.b`. */
function checkOutputRefs(
  step: CheckedStep,
  i: number,
  infos: ReadonlyMap<string, StepTaskInfo>,
): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const refs = [
    ...collectRefs(step.input, 'input'),
    ...(step.map ? collectRefs(step.map.over, 'map.over') : []),
  ];
  for (const { at, ref } of refs) {
    if (ref.source !== 'step') continue;
    const schema = infos.get(ref.step)?.task?.output;
    if (!schema) continue;
    const missing = missingPath(schema, ref.path);
    if (missing !== null)
      issues.push({
        path: `steps.${i}.${at}`,
        message: `step ${step.name}: ${at} refers to steps.${ref.step}.output.${ref.path.join('.')}, but the output of task ${infos.get(ref.step)?.task?.name} has no field "${missing}"`,
      });
  }
  return issues;
}

/** The first key of `path` an object schema does not declare, or null (also when the schema cannot tell). */
function missingPath(schema: z.ZodType, path: readonly string[]): string | null {
  let current: unknown = schema;
  for (const key of path) {
    current = unwrap(current);
    const def = (
      current as {
        def?: { type?: string; shape?: Record<string, unknown>; element?: unknown; catchall?: unknown };
      }
    ).def;
    if (!def) return null;
    if (def.type === 'object' && def.shape) {
      if (!(key in def.shape)) return def.catchall ? null : key;
      current = def.shape[key];
    } else if (def.type === 'array' && /^\d+$/.test(key)) {
      current = def.element;
    } else {
      return null;
    }
  }
  return null;
}

function unwrap(schema: unknown): unknown {
  let current = schema;
  for (let i = 0; i < 10; i++) {
    const def = (current as { def?: { type?: string; innerType?: unknown } }).def;
    if (
      def &&
      (def.type === 'optional' || def.type === 'nullable' || def.type === 'default') &&
      def.innerType
    )
      current = def.innerType;
    else return current;
  }
  return current;
}
