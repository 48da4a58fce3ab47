import { FlowReferenceError } from '../core/errors.js';
import { formatRef, isRefValue, parseRef, type Ref } from './spec.js';

/** What references resolve against when a step becomes ready. */
export interface ResolveScope {
  store: Record<string, unknown> | null;
  /** Outputs of completed steps, by name (only those the template refers to are needed). */
  outputs: ReadonlyMap<string, unknown>;
  /** The list element, inside a map's input. */
  item?: unknown;
}

/** Names of the steps a template refers to. */
export function referencedSteps(template: unknown, out = new Set<string>()): Set<string> {
  if (isRefValue(template)) {
    const ref = parseRef(template.$ref);
    if (ref.source === 'step') out.add(ref.step);
  } else if (Array.isArray(template)) {
    for (const v of template) referencedSteps(v, out);
  } else if (typeof template === 'object' && template !== null) {
    for (const v of Object.values(template)) referencedSteps(v, out);
  }
  return out;
}

/** Does the template refer to the flow's store? */
export function refersToStore(template: unknown): boolean {
  if (isRefValue(template)) return parseRef(template.$ref).source === 'store';
  if (Array.isArray(template)) return template.some(refersToStore);
  if (typeof template === 'object' && template !== null) return Object.values(template).some(refersToStore);
  return false;
}

/** Does the template hold any reference? (A template without one needs no resolving.) */
export function hasRefs(template: unknown): boolean {
  if (isRefValue(template)) return true;
  if (Array.isArray(template)) return template.some(hasRefs);
  if (typeof template === 'object' && template !== null) return Object.values(template).some(hasRefs);
  return false;
}

/**
 * Replaces every `{ "$ref": … }` in `template` with the value it names. `step` and `at` only word
 * the error: a missing value is a `FlowReferenceError` naming the step, the field and the path.
 * With `keepItem`, `item` references stay in place (a map's input, resolved again per element).
 */
export function resolveTemplate(
  template: unknown,
  scope: ResolveScope,
  step: string,
  at = 'input',
  keepItem = false,
): unknown {
  if (isRefValue(template)) {
    const ref = parseRef(template.$ref);
    if (keepItem && ref.source === 'item') return template;
    return lookup(ref, scope, step, at);
  }
  if (Array.isArray(template))
    return template.map((v, i) => resolveTemplate(v, scope, step, `${at}.${i}`, keepItem));
  if (typeof template === 'object' && template !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(template))
      out[k] = resolveTemplate(v, scope, step, `${at}.${k}`, keepItem);
    return out;
  }
  return template;
}

function lookup(ref: Ref, scope: ResolveScope, step: string, at: string): unknown {
  let value: unknown;
  let what: string;
  if (ref.source === 'store') {
    value = scope.store;
    what = 'the flow store';
  } else if (ref.source === 'item') {
    if (!('item' in scope))
      throw new FlowReferenceError(`step ${step}: ${at} uses "item" outside a map step`);
    value = scope.item;
    what = 'the map item';
  } else {
    if (!scope.outputs.has(ref.step))
      throw new FlowReferenceError(
        `step ${step}: ${at} refers to ${formatRef(ref)}, but step ${ref.step} has not completed`,
      );
    value = scope.outputs.get(ref.step);
    what = `the output of step ${ref.step}`;
  }
  const walked: string[] = [];
  for (const key of ref.path) {
    const next = child(value, key);
    if (next === undefined) {
      const where = walked.length === 0 ? what : `${what} at ${walked.join('.')}`;
      throw new FlowReferenceError(
        `step ${step}: ${at} refers to ${formatRef(ref)}, but ${where} has no field "${key}" (it is ${describe(value)})`,
      );
    }
    walked.push(key);
    value = next;
  }
  return value;
}

function child(value: unknown, key: string): unknown {
  if (Array.isArray(value)) {
    if (!/^\d+$/.test(key)) return undefined;
    return value[Number(key)];
  }
  if (typeof value === 'object' && value !== null && Object.hasOwn(value, key))
    return (value as Record<string, unknown>)[key];
  return undefined;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === 'object') {
    const keys = Object.keys(value);
    return keys.length === 0
      ? 'an empty object'
      : `an object with ${keys.slice(0, 5).join(', ')}${keys.length > 5 ? ', …' : ''}`;
  }
  return typeof value;
}
