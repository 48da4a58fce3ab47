import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { RouteDeps } from '../deps.js';
import { backfillRoutes } from './backfills.js';
import { bulkRoutes } from './bulk.js';
import { datasetRoutes } from './datasets.js';
import { flowRoutes } from './flows.js';
import { jobRoutes } from './jobs.js';
import { overviewRoutes } from './overview.js';
import { scheduleRoutes } from './schedules.js';
import { streamRoutes } from './streams.js';
import { taskRoutes } from './tasks.js';
import { workerRoutes } from './workers.js';

/** Every route under /api/v1; each module is one resource. */
export function apiRoutes(deps: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    await app.register(jobRoutes(deps));
    await app.register(flowRoutes(deps));
    await app.register(scheduleRoutes(deps));
    await app.register(backfillRoutes(deps));
    await app.register(datasetRoutes(deps));
    await app.register(streamRoutes(deps));
    await app.register(workerRoutes(deps));
    await app.register(taskRoutes(deps));
    await app.register(overviewRoutes(deps));
    await app.register(bulkRoutes(deps));
  };
}
