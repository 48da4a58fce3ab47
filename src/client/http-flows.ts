import type { Clock } from '../core/clock.js';
import { parseDuration } from '../core/duration.js';
import { flowNotFound, ValidationError, WaitTimeoutError } from '../core/errors.js';
import { type FlowBuilder, isFlowBuilder } from '../flow/builder.js';
import type { FlowSpec } from '../flow/spec.js';
import {
  type FlowLogEntry,
  type FlowPage,
  type FlowRecord,
  type FlowStepRecord,
  isFlowFinished,
} from '../flow/types.js';
import type { Client } from './client.js';
import { type FlowHandle, flowOutcome, type SubmitFlowOptions } from './flows.js';
import type { Request } from './http-request.js';

type FlowApi = Pick<Client, 'submitFlow' | 'flow' | 'getFlow' | 'listFlows' | 'flowLogs' | 'cancelFlow'>;

/** How often a flow's waiter reads its state (there is no long-poll for flows). */
const POLL_MS = 1000;
const ID = /^[0-9]{1,19}$/;

/**
 * The API names a flow's fields under `spec` (`spec.steps.1.input`); the client on a store names
 * them from the spec's root, so the same issues print the same way.
 */
function fromSpecRoot(err: unknown): unknown {
  if (!(err instanceof ValidationError)) return err;
  const issues = err.issues.map((i) => ({
    ...i,
    path: i.path === 'spec' ? '' : i.path.replace(/^spec\./, ''),
  }));
  return new ValidationError(err.message.replace(/^spec\./, ''), issues, { cause: err });
}

/** A flow builder as the API takes it: its JSON spec. */
export function specOf(flow: FlowBuilder | FlowSpec): FlowSpec {
  return isFlowBuilder(flow) ? flow.toSpec() : flow;
}

export function createHttpFlowApi(call: Request, clock: Clock): FlowApi {
  const flowPath = (id: string, rest = '') => {
    if (!ID.test(id)) throw flowNotFound(id);
    return `/flows/${id}${rest}`;
  };
  const status = async (id: string) =>
    (await call<{ flow: FlowRecord; steps: FlowStepRecord[] }>('read flows', 'GET', flowPath(id))).body;
  const getFlow = async (id: string) => (await status(id)).flow;
  const cancelFlow = async (id: string, reason = 'cancelled by request') =>
    (await call<FlowRecord>('cancel flows', 'POST', flowPath(id, '/cancel'), { body: { reason } })).body;

  const waitFor = async (id: string, timeoutMs: number | null): Promise<FlowRecord> => {
    const deadline = timeoutMs === null ? null : clock.now() + timeoutMs;
    for (;;) {
      const flow = await getFlow(id);
      if (isFlowFinished(flow.state)) return flow;
      const left = deadline === null ? POLL_MS : deadline - clock.now();
      if (left <= 0)
        throw new WaitTimeoutError(
          `flow ${id} is still ${flow.state} after ${timeoutMs}ms; wait longer or check it later`,
        );
      await clock.sleep(Math.min(left, POLL_MS));
    }
  };

  const flowHandle = <Out>(id: string, deduplicated = false): FlowHandle<Out> => ({
    id,
    deduplicated,
    get: () => getFlow(id),
    status: () => status(id),
    async result(opts) {
      const timeoutMs = opts?.timeout === undefined ? null : parseDuration(opts.timeout, 'timeout');
      return flowOutcome<Out>(await waitFor(id, timeoutMs));
    },
    cancel: (reason) => cancelFlow(id, reason),
  });

  return {
    async submitFlow(flow: FlowBuilder | FlowSpec, options?: SubmitFlowOptions) {
      const res = await call<{ id: string; deduplicated: boolean }>('submit flows', 'POST', '/flows', {
        body: { spec: specOf(flow), ...(options ? { options } : {}) },
      }).catch((err: unknown) => {
        throw fromSpecRoot(err);
      });
      return flowHandle(res.body.id, res.body.deduplicated);
    },
    flow: (id) => flowHandle(id),
    getFlow,
    listFlows: async (filter = {}) =>
      (await call<FlowPage>('list flows', 'GET', '/flows', { query: { ...filter } })).body,
    flowLogs: async (id, opts = {}) =>
      (await call<{ logs: FlowLogEntry[] }>('read flows', 'GET', flowPath(id, '/logs'), { query: opts })).body
        .logs,
    cancelFlow,
  } as FlowApi;
}
