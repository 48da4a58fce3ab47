import type { Clock } from '../core/clock.js';
import { type Duration, parseDuration } from '../core/duration.js';
import { FlowFailedError, flowNotFound, ValidationError } from '../core/errors.js';
import { type FlowBuilder, isFlowBuilder } from '../flow/builder.js';
import { prepareSteps, type StepTaskInfo } from '../flow/prepare.js';
import { checkFlowSpec, type FlowSpec } from '../flow/spec.js';
import { type FlowRecord, type FlowStepRecord, isFlowFinished, type NewFlow } from '../flow/types.js';
import type { Store } from '../store/types.js';
import type { Task } from '../task/define.js';
import { waitUntil } from './wait.js';

export interface SubmitFlowOptions {
  /** Named values the steps can refer to (`store.<key>`). */
  store?: Record<string, unknown>;
  /** While held, a second submission with this key returns the first flow's id and creates nothing. */
  dedupKey?: string;
  /** How long the key is held. Without it, until that flow finishes. */
  dedupWindow?: Duration;
  /** Free-form JSON stored with the flow. */
  metadata?: Record<string, unknown>;
}

/** A submitted flow. Any process can make one from an id with `client.flow(id)`. */
export interface FlowHandle<Out = Record<string, unknown>> {
  readonly id: string;
  /** True when a dedup key matched an existing flow: `id` is that flow's. */
  readonly deduplicated: boolean;
  get(): Promise<FlowRecord>;
  /** The flow and every step's state (a running step's job says whether it is pending or running). */
  status(): Promise<{ flow: FlowRecord; steps: FlowStepRecord[] }>;
  /**
   * Waits for the flow to end: the outputs of its top-level steps by name, or a `FlowFailedError`
   * (`failed`, `revert_failed` or `cancelled`) carrying the error that stopped it.
   */
  result(options?: { timeout?: Duration }): Promise<Out>;
  cancel(reason?: string): Promise<FlowRecord>;
}

const KNOWN = new Set(['store', 'dedupKey', 'dedupWindow', 'metadata']);

/** Checks a flow (builder or JSON spec) and its options, resolves each step's task: what the store inserts. */
export async function toNewFlow(
  flow: FlowBuilder | FlowSpec,
  options: SubmitFlowOptions,
  lookup: (task: string, local: Task | undefined) => Promise<StepTaskInfo | null>,
): Promise<NewFlow> {
  for (const key of Object.keys(options))
    if (!KNOWN.has(key))
      throw new ValidationError(`options.${key}: unknown option (known: ${[...KNOWN].join(', ')})`, [
        { path: `options.${key}`, message: 'unknown option' },
      ]);
  const store = options.store ?? null;
  if (store !== null && (typeof store !== 'object' || Array.isArray(store)))
    throw new ValidationError('options.store must be a plain object of named values', [
      { path: 'options.store', message: 'not an object' },
    ]);
  const local = isFlowBuilder(flow) ? flow.tasks : new Map<string, Task>();
  const { spec, steps } = checkFlowSpec(isFlowBuilder(flow) ? flow.toSpec() : flow, { store });
  const newSteps = await prepareSteps(steps, (task) => lookup(task, local.get(task)));
  let dedup: NewFlow['dedup'] = null;
  if (options.dedupKey !== undefined) {
    if (
      typeof options.dedupKey !== 'string' ||
      options.dedupKey.length === 0 ||
      options.dedupKey.length > 500
    )
      throw new ValidationError('options.dedupKey must be a string of 1-500 characters', [
        { path: 'options.dedupKey', message: 'invalid' },
      ]);
    dedup = {
      key: options.dedupKey,
      windowMs:
        options.dedupWindow === undefined ? null : parseDuration(options.dedupWindow, 'options.dedupWindow'),
    };
  }
  return { spec, store, steps: newSteps, metadata: options.metadata ?? null, dedup };
}

/** Waits until a flow has ended; wakes on `flows-finished` and store changes, polls as a fallback. */
export async function waitForFlow(
  store: Store,
  clock: Clock,
  id: string,
  timeoutMs: number | null,
): Promise<FlowRecord> {
  // Only the state is polled (a big flow's record is costly to read on every change); the record once it ended.
  await waitUntil(store, clock, timeoutMs, {
    what: `flow ${id}`,
    read: async () => {
      const state = await store.getFlowState(id);
      if (!state) throw flowNotFound(id);
      return { state };
    },
    done: (flow) => isFlowFinished(flow.state),
    wakes: (n) => n.type === 'flows-finished' && n.ids.includes(id),
  });
  const flow = await store.getFlow(id);
  if (!flow) throw flowNotFound(id);
  return flow;
}

/** The outcome of an ended flow: its outputs, or the error that stopped it. */
export function flowOutcome<Out>(flow: FlowRecord): Out {
  if (flow.state === 'succeeded') return (flow.output ?? {}) as Out;
  throw new FlowFailedError(
    flow.id,
    flow.state,
    flow.failedStep,
    flow.error ?? { name: 'Error', message: `flow ended ${flow.state}` },
  );
}
