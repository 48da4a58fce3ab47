import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { RouteDeps } from '../deps.js';
import { idParams, nameParams, time } from '../schemas.js';

const tags = ['backfills'];

export function backfillRoutes({ client }: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/schedules/:name/backfills',
      {
        config: { access: 'operator' },
        schema: {
          tags,
          summary: 'Start a backfill: run the schedule for every fire time (or partition) in a range',
          description:
            'Time triggers: from and to (times). Dataset triggers: partitions, or from and to as partition names. Runs that already exist are not repeated.',
          params: nameParams,
          body: z.strictObject({
            from: time.optional(),
            to: time.optional(),
            partitions: z.array(z.string().max(200)).min(1).max(100_000).optional(),
            concurrency: z.number().int().min(1).max(10_000).optional().describe('runs at once; default 1'),
          }),
        },
      },
      async (request, reply) =>
        reply.code(201).send(await client.backfill(request.params.name, request.body)),
    );

    app.get(
      '/schedules/:name/backfills',
      {
        config: { access: 'viewer' },
        schema: { tags, summary: "A schedule's backfills, newest first", params: nameParams },
      },
      async (request) => ({ backfills: await client.listBackfills(request.params.name) }),
    );

    app.get(
      '/backfills',
      {
        config: { access: 'viewer' },
        schema: {
          tags,
          summary: 'Backfills, newest first',
          querystring: z.strictObject({ schedule: z.string().min(1).max(200).optional() }),
        },
      },
      async (request) => ({ backfills: await client.listBackfills(request.query.schedule) }),
    );

    app.get(
      '/backfills/:id',
      {
        config: { access: 'viewer' },
        schema: { tags, summary: "A backfill's progress: range, cursor, runs by state", params: idParams },
      },
      async (request) => client.getBackfill(request.params.id),
    );

    app.post(
      '/backfills/:id/cancel',
      {
        config: { access: 'operator' },
        schema: {
          tags,
          summary:
            'Stop a backfill: no new runs; its pending and running runs are cancelled (409 when not running)',
          params: idParams,
        },
      },
      async (request) => client.cancelBackfill(request.params.id),
    );
  };
}
