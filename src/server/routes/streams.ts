import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { jobNotFound } from '../../core/errors.js';
import { isFinished } from '../../core/job.js';
import type { RouteDeps } from '../deps.js';
import { idParams } from '../schemas.js';
import { nextChange } from '../wait.js';

const tags = ['streams'];
/** Log lines read per round; a full page is followed by the next at once. */
const PAGE = 500;
/**
 * How often a followed job's logs are read again. Log lines arrive without a notification (they are
 * written with a worker's batched reports), so this is the follow latency; a finished job wakes at once.
 */
const LOG_POLL_MS = 250;

/** Server-Sent Events: a job's logs as they are written, and state changes for the UI. */
export function streamRoutes({ store, sse, closing }: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/jobs/:id/logs/stream',
      {
        config: { access: 'viewer' },
        schema: {
          tags,
          summary: "Follow a job's logs (text/event-stream)",
          description:
            'Sends the existing lines (after afterId, or the Last-Event-ID header on reconnect) as `log` events with the line id as event id, then new ones as they are written, then one `end` event with the final state when the job has finished.',
          params: idParams,
          querystring: z.strictObject({ afterId: z.coerce.number().int().min(0).optional() }),
        },
      },
      async (request, reply) => {
        const { id } = request.params;
        if (!(await store.getJob(id))) throw jobNotFound(id);
        const resume = Number(request.headers['last-event-id']);
        let afterId = Number.isSafeInteger(resume) && resume >= 0 ? resume : (request.query.afterId ?? 0);
        const stream = sse.open(request, reply);
        const signal = AbortSignal.any([stream.signal, closing]);
        try {
          let finalState: string | null = null;
          while (!signal.aborted) {
            const logs = await store.getJobLogs(id, { afterId, limit: PAGE });
            for (const line of logs) {
              stream.send('log', line, line.id);
              afterId = line.id;
            }
            if (logs.length === PAGE) continue;
            if (finalState !== null) {
              stream.send('end', { state: finalState });
              break;
            }
            const job = await store.getJob(id);
            // Lines are written with (or before) the completion: one more read after the end gets them all.
            if (!job || isFinished(job.state)) {
              finalState = job?.state ?? 'deleted';
              continue;
            }
            await nextChange(
              store,
              (n) => n.type === 'jobs-finished' && n.ids.includes(id),
              LOG_POLL_MS,
              signal,
            );
          }
        } catch (err) {
          request.log.error({ err }, 'log stream failed');
          stream.send('error', { message: 'the stream failed; reconnect to resume' });
        } finally {
          stream.close();
        }
        return reply;
      },
    );

    app.get(
      '/events',
      {
        config: { access: 'viewer' },
        schema: {
          tags,
          summary: 'State changes (text/event-stream), for the UI',
          description:
            'Events named after store notifications: `jobs-available` {queues (empty: any queue), earliestRunAt}, `jobs-finished` {ids}, `flows-finished` {ids}, `cancel-requested` {ids}, and `changed` (another process wrote: read again).',
        },
      },
      async (request, reply) => {
        const stream = sse.open(request, reply);
        const unsubscribe = store.subscribe((n) => {
          stream.send(n.type, n);
        });
        stream.signal.addEventListener('abort', unsubscribe, { once: true });
        if (closing.aborted) stream.close();
        return reply;
      },
    );
  };
}
