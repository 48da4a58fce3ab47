import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { RouteDeps } from '../deps.js';
import { cursor, limit, metadata } from '../schemas.js';

const tags = ['datasets'];
/** Dataset names may hold `/`: send it as %2F in the path. */
const params = z.strictObject({ name: z.string().min(1).max(200) });

export function datasetRoutes({ client }: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/datasets',
      { config: { access: 'viewer' }, schema: { tags, summary: 'Datasets with their partition counts' } },
      async () => ({ datasets: await client.listDatasets() }),
    );

    app.get(
      '/datasets/:name/partitions',
      {
        config: { access: 'viewer' },
        schema: {
          tags,
          summary: "A dataset's partitions, newest mark first, each with the runs it triggered",
          params,
          querystring: z.strictObject({ cursor, limit: limit(500) }),
        },
      },
      async (request) => client.listPartitions(request.params.name, request.query),
    );

    app.post(
      '/datasets/:name/partitions',
      {
        config: { access: 'operator' },
        schema: {
          tags,
          summary: 'Mark a partition available',
          description:
            'Schedules waiting on the dataset fire once all theirs are there. 201 when newly marked, 200 when it already was (nothing changes).',
          params,
          body: z.strictObject({ partition: z.string().min(1).max(200), metadata: metadata.optional() }),
        },
      },
      async (request, reply) => {
        const { partition, metadata: meta } = request.body;
        const marked = await client.markAvailable(request.params.name, partition, meta);
        return reply.code(marked.created ? 201 : 200).send(marked);
      },
    );
  };
}
