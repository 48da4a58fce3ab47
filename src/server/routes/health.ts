import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Store } from '../../store/types.js';
import { errorBody } from '../errors.js';

/** How long `/readyz` waits for the store before answering 503. */
const READY_TIMEOUT_MS = 2000;

/** `/healthz` (the process answers) and `/readyz` (the store answers and is migrated); no auth. */
export function healthRoutes(store: Store): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/healthz',
      {
        schema: {
          tags: ['health'],
          summary: 'The process is up',
          response: { 200: z.object({ status: z.literal('ok') }) },
        },
      },
      async () => ({ status: 'ok' as const }),
    );
    app.get(
      '/readyz',
      { schema: { tags: ['health'], summary: 'The store is reachable and its schema is current' } },
      async (request, reply) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          const now = await Promise.race([
            store.now(),
            new Promise<never>((_, reject) => {
              timer = setTimeout(
                () => reject(new Error('the store did not answer in time')),
                READY_TIMEOUT_MS,
              );
            }),
          ]);
          return { status: 'ready', store: store.kind, now };
        } catch (err) {
          request.log.warn({ err }, 'readiness check failed');
          return reply.code(503).send(errorBody('NOT_READY', 'the store is not reachable or not migrated'));
        } finally {
          clearTimeout(timer);
        }
      },
    );
  };
}
