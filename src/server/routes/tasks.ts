import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { RouteDeps } from '../deps.js';
import { nameParams } from '../schemas.js';

const tags = ['tasks'];

/** The task registry: what workers registered of each task (defaults, input schema, description). */
export function taskRoutes({ client }: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/tasks',
      {
        config: { access: 'viewer' },
        schema: {
          tags,
          summary: 'Registered tasks with their defaults, input schema (JSON Schema) and description',
        },
      },
      async () => ({ tasks: await client.listTasks() }),
    );

    app.get(
      '/tasks/:name',
      {
        config: { access: 'viewer' },
        schema: {
          tags,
          summary: 'A registered task (404 TASK_NOT_FOUND when no worker registered it)',
          params: nameParams,
        },
      },
      async (request) => client.getTask(request.params.name),
    );
  };
}
