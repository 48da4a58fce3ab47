import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { StintError } from '../../core/errors.js';
import type { JobRecord, JobState } from '../../core/job.js';
import type { RouteDeps } from '../deps.js';

/** At most this many ids per bulk cancel or retry. */
export const MAX_BULK_IDS = 1000;
/** Jobs worked on at once: enough to hide PostgreSQL's round trips, few enough to leave the pool to others. */
const PARALLEL = 8;

/** What a bulk action answers for one id. */
export interface BulkResult {
  id: string;
  ok: boolean;
  /** The job's state after the action (when `ok`): `running` means a cancel was requested. */
  state?: JobState;
  /** Why this job was left as it was (when not `ok`): the error code and message the single-job route gives. */
  error?: { code: string; message: string };
}

const ids = z
  .array(z.string().regex(/^[0-9]{1,19}$/, 'must be a numeric id'))
  .min(1)
  .max(MAX_BULK_IDS)
  .describe(`job ids, 1 to ${MAX_BULK_IDS}; a repeated id is acted on once`);

const results = z.object({
  results: z.array(
    z.object({
      id: z.string(),
      ok: z.boolean(),
      state: z.string().optional(),
      error: z.object({ code: z.string(), message: z.string() }).optional(),
    }),
  ),
});

/**
 * Runs `action` for each distinct id, a few at a time. A job the action refuses (a stint error:
 * not found, conflict) gets its error in its result and the others go on; anything else (the
 * store is gone) fails the request.
 */
export async function eachJob(
  list: readonly string[],
  action: (id: string) => Promise<JobRecord>,
): Promise<BulkResult[]> {
  const distinct = [...new Set(list)];
  const out: BulkResult[] = new Array(distinct.length);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < distinct.length; i = next++) {
      const id = distinct[i] as string;
      try {
        const job = await action(id);
        out[i] = { id, ok: true, state: job.state };
      } catch (err) {
        if (!(err instanceof StintError) || err.code === 'STORE' || err.code === 'CLOSED') throw err;
        out[i] = { id, ok: false, error: { code: err.code, message: err.message } };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, distinct.length) }, lane));
  return out;
}

const tags = ['jobs'];

/** Cancel or retry many jobs in one request (the web UI's selections). */
export function bulkRoutes({ client }: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/jobs/cancel',
      {
        config: { access: 'operator' },
        schema: {
          tags,
          summary: 'Cancel many jobs: a result per id',
          description:
            'Each job as `POST /jobs/{id}/cancel` would: pending ones are cancelled, running ones asked to cancel. A job that cannot be cancelled (finished: CONFLICT, unknown: JOB_NOT_FOUND) has `ok: false` and its error; the others are cancelled all the same.',
          body: z.strictObject({ ids, reason: z.string().max(1000).optional() }),
          response: { 200: results },
        },
      },
      async (request) => ({
        results: await eachJob(request.body.ids, (id) => client.cancel(id, request.body.reason)),
      }),
    );

    app.post(
      '/jobs/retry',
      {
        config: { access: 'operator' },
        schema: {
          tags,
          summary: 'Run many failed or cancelled jobs again: a result per id',
          description:
            'Each job as `POST /jobs/{id}/retry` would. A job that is not failed or cancelled (CONFLICT) or unknown (JOB_NOT_FOUND) has `ok: false` and its error; the others are retried all the same.',
          body: z.strictObject({ ids }),
          response: { 200: results },
        },
      },
      async (request) => ({ results: await eachJob(request.body.ids, (id) => client.retry(id)) }),
    );
  };
}
