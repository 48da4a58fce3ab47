import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { RouteDeps } from '../deps.js';
import { duration } from '../schemas.js';

const params = z.strictObject({ name: z.string().min(1).max(200) });

/** The worker registry and queues (depth, throughput, limits). */
export function workerRoutes({ client }: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/workers',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['workers'],
          summary: 'Workers with their queues, labels, capacity, what they use and their last heartbeat',
          querystring: z.strictObject({ state: z.enum(['active', 'stopped', 'gone']).optional() }),
        },
      },
      async (request) => ({
        workers: await client.listWorkers(request.query.state ? { state: request.query.state } : undefined),
      }),
    );

    app.get(
      '/queues',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['queues'],
          summary: 'Queues with jobs per state, jobs finished in the last minute, workers and limits',
        },
      },
      async () => ({ queues: await client.listQueues() }),
    );

    app.get(
      '/queues/:name',
      { config: { access: 'viewer' }, schema: { tags: ['queues'], summary: "A queue's limits", params } },
      async (request) => client.getQueue(request.params.name),
    );

    app.patch(
      '/queues/:name',
      {
        config: { access: 'admin' },
        schema: {
          tags: ['queues'],
          summary: "Change a queue's admission and rate limits",
          description: 'Fields left out keep their value; null removes a limit.',
          params,
          body: z.strictObject({
            maxPending: z.number().int().min(1).nullable().optional(),
            shedPolicy: z.enum(['reject', 'drop_lowest_priority']).optional(),
            rateLimit: z
              .strictObject({ limit: z.number().int().min(1), period: duration })
              .nullable()
              .optional(),
          }),
        },
      },
      async (request) => client.setQueue(request.params.name, request.body),
    );
  };
}
