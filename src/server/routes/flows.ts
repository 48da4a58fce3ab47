import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { flowNotFound, ValidationError } from '../../core/errors.js';
import { flowSpecSchema } from '../../flow/spec.js';
import { FINISHED_FLOW_STATES, type FlowState } from '../../flow/types.js';
import type { RouteDeps } from '../deps.js';
import { cursor, duration, idParams, limit, listOf, logQuery, metadata, reasonBody } from '../schemas.js';

const tags = ['flows'];
const FLOW_STATES = ['running', 'reverting', ...FINISHED_FLOW_STATES] as [FlowState, ...FlowState[]];

/**
 * The flow layer names fields relative to the spec (`steps.1.input`); in the request body the spec
 * sits under `spec`, so its issues are re-rooted there. Issues about the options keep their path.
 */
function underSpec(err: unknown): unknown {
  if (!(err instanceof ValidationError)) return err;
  const root = (path: string) => (path.startsWith('options.') ? path : path ? `spec.${path}` : 'spec');
  const issues = err.issues.map((i) => ({ ...i, path: root(i.path) }));
  return new ValidationError(err.message, issues, { cause: err });
}

export function flowRoutes({ client, store }: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/flows',
      {
        config: { access: 'operator' },
        schema: {
          tags,
          summary: 'Submit a flow (a JSON spec)',
          description:
            'The whole flow is checked (unknown tasks, cycles, bad references) before anything is stored. 201 with the flow id, or 200 with the existing one when a dedupKey matched.',
          body: z.strictObject({
            spec: flowSpecSchema,
            options: z
              .strictObject({
                store: z
                  .record(z.string(), z.unknown())
                  .optional()
                  .describe('values steps refer to as store.<key>'),
                dedupKey: z.string().min(1).max(500).optional(),
                dedupWindow: duration.optional(),
                metadata: metadata.optional(),
              })
              .optional(),
          }),
        },
      },
      async (request, reply) => {
        const { spec, options } = request.body;
        const handle = await client.submitFlow(spec, options ?? {}).catch((err: unknown) => {
          throw underSpec(err);
        });
        return reply
          .code(handle.deduplicated ? 200 : 201)
          .send({ id: handle.id, deduplicated: handle.deduplicated });
      },
    );

    app.get(
      '/flows',
      {
        config: { access: 'viewer' },
        schema: {
          tags,
          summary: 'List flows, newest first',
          querystring: z.strictObject({
            state: listOf(FLOW_STATES).describe('one state, or several separated by commas'),
            name: z.string().min(1).max(200).optional(),
            cursor,
            limit: limit(500),
          }),
        },
      },
      async (request) => {
        const { state, ...rest } = request.query;
        return client.listFlows({ ...rest, ...(state ? { state: state as FlowState[] } : {}) });
      },
    );

    app.get(
      '/flows/:id',
      {
        config: { access: 'viewer' },
        schema: { tags, summary: 'A flow with the state of every step', params: idParams },
      },
      async (request) => client.flow(request.params.id).status(),
    );

    app.post(
      '/flows/:id/cancel',
      {
        config: { access: 'operator' },
        schema: {
          tags,
          summary:
            'Cancel a running flow: running steps are cancelled, completed ones reverted (409 when finished)',
          params: idParams,
          body: reasonBody,
        },
      },
      async (request) => client.cancelFlow(request.params.id, request.body?.reason),
    );

    app.get(
      '/flows/:id/logs',
      {
        config: { access: 'viewer' },
        schema: {
          tags,
          summary: 'Log lines of every job of the flow, each with its step, in the order written',
          params: idParams,
          querystring: logQuery,
        },
      },
      async (request) => {
        const { id } = request.params;
        if (!(await store.getFlowState(id))) throw flowNotFound(id);
        const { afterId, limit: max } = request.query;
        const logs = await client.flowLogs(id, {
          ...(afterId !== undefined ? { afterId } : {}),
          ...(max !== undefined ? { limit: max } : {}),
        });
        return { logs };
      },
    );
  };
}
