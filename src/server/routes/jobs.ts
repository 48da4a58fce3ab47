import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { SubmitOptions } from '../../client/submit-options.js';
import { parseDuration } from '../../core/duration.js';
import { jobNotFound } from '../../core/errors.js';
import { isFinished, type JobRecord, type JobState } from '../../core/job.js';
import { parseTime } from '../../schedule/trigger.js';
import { MAX_SEARCH_LENGTH } from '../../store/job-list.js';
import type { RouteDeps } from '../deps.js';
import {
  cursor,
  idParams,
  jobStates,
  limit,
  logQuery,
  reasonBody,
  type SubmitOptionsBody,
  submitOptions,
} from '../schemas.js';
import { nextChange } from '../wait.js';

/** The longest `GET /jobs/:id/result?wait=`: a long-poll holds a connection, so it is bounded. */
export const MAX_RESULT_WAIT_MS = 60_000;
/** At most this many inputs per bulk submit (the body limit applies too). */
export const MAX_BULK = 10_000;
/** How often a waiting long-poll reads the job again when no notification arrives (another machine). */
const POLL_MS = 1000;

const tags = ['jobs'];
const JSON_TYPE = 'application/json; charset=utf-8';

/** HTTP options to the client's: `runAt` may be an ISO string here. */
export function toSubmitOptions(body: SubmitOptionsBody | undefined): SubmitOptions {
  if (!body) return {};
  const { runAt, ...rest } = body;
  return runAt === undefined ? rest : { ...rest, runAt: parseTime(runAt, 'options.runAt') };
}

/** A time in a query string: milliseconds since the epoch, or an ISO 8601 time. */
const queryTime = z
  .string()
  .max(100)
  .refine((v) => /^[0-9]{1,16}$/.test(v) || Number.isFinite(Date.parse(v)), {
    message: 'must be milliseconds since the epoch or an ISO 8601 time',
  })
  .optional();

function queryTimeMs(value: string, path: string): number {
  return /^[0-9]+$/.test(value) ? Number(value) : parseTime(value, path);
}

/** What `/result` answers: the job's state and, once it ended, its output or error. */
function outcome(job: JobRecord) {
  return {
    id: job.id,
    state: job.state,
    output: job.state === 'succeeded' ? job.output : null,
    error: job.state === 'succeeded' ? null : job.error,
  };
}

export function jobRoutes({ client, store, closing }: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/jobs',
      {
        config: { access: 'operator' },
        schema: {
          tags,
          summary: 'Submit a job',
          description:
            'Answers 201 with the new job id, or 200 with the existing job when a dedupKey matched (deduplicated: true).',
          body: z.strictObject({
            task: z.string().min(1).max(200),
            input: z.unknown().optional().describe('the task input (default {})'),
            options: submitOptions.optional(),
          }),
        },
      },
      async (request, reply) => {
        const { task, input, options } = request.body;
        const handle = await client.submit(task, input === undefined ? {} : input, toSubmitOptions(options));
        // The hot path of the API: the body is written as a string, without a serializer.
        return reply
          .code(handle.deduplicated ? 200 : 201)
          .type(JSON_TYPE)
          .send(`{"id":${JSON.stringify(handle.id)},"deduplicated":${handle.deduplicated}}`);
      },
    );

    app.post(
      '/jobs/bulk',
      {
        config: { access: 'operator' },
        schema: {
          tags,
          summary: 'Submit many jobs of one task in one transaction',
          description: 'All inputs are checked before anything is stored; no dedupKey with several inputs.',
          body: z.strictObject({
            task: z.string().min(1).max(200),
            inputs: z.array(z.unknown()).min(1).max(MAX_BULK),
            options: submitOptions.optional(),
          }),
        },
      },
      async (request, reply) => {
        const { task, inputs, options } = request.body;
        const handles = await client.submitMany(task, inputs, toSubmitOptions(options));
        return reply
          .code(201)
          .send({ jobs: handles.map((h) => ({ id: h.id, deduplicated: h.deduplicated })) });
      },
    );

    app.get(
      '/jobs',
      {
        config: { access: 'viewer' },
        schema: {
          tags,
          summary: 'List jobs, newest first',
          description:
            'Pass nextCursor back as cursor for the next page. A time range keeps the listing fast on a big table; a search alone may read many rows before it fills a page.',
          querystring: z.strictObject({
            state: jobStates.describe('one state, or several separated by commas'),
            task: z.string().min(1).max(200).optional(),
            queue: z.string().min(1).max(200).optional(),
            flow: z
              .string()
              .regex(/^[0-9]{1,19}$/, 'must be a numeric flow id')
              .optional(),
            createdAfter: queryTime.describe('jobs created at or after this time (inclusive)'),
            createdBefore: queryTime.describe('jobs created before this time (exclusive)'),
            search: z
              .string()
              .min(1)
              .max(MAX_SEARCH_LENGTH)
              .optional()
              .describe("case-insensitive text in the job's metadata (as JSON text: keys and values)"),
            cursor,
            limit: limit(500),
          }),
        },
      },
      async (request) => {
        const { state, createdAfter, createdBefore, ...rest } = request.query;
        return client.list({
          ...rest,
          ...(state ? { state: state as JobState[] } : {}),
          ...(createdAfter !== undefined ? { createdAfter: queryTimeMs(createdAfter, 'createdAfter') } : {}),
          ...(createdBefore !== undefined
            ? { createdBefore: queryTimeMs(createdBefore, 'createdBefore') }
            : {}),
        });
      },
    );

    app.get(
      '/jobs/:id',
      { config: { access: 'viewer' }, schema: { tags, summary: 'A job', params: idParams } },
      async (request) => client.get(request.params.id),
    );

    app.post(
      '/jobs/:id/cancel',
      {
        config: { access: 'operator' },
        schema: {
          tags,
          summary: 'Cancel a job',
          description: 'Pending: cancelled at once. Running: cancel requested. Finished: 409.',
          params: idParams,
          body: reasonBody,
        },
      },
      async (request) => client.cancel(request.params.id, request.body?.reason),
    );

    app.post(
      '/jobs/:id/retry',
      {
        config: { access: 'operator' },
        schema: {
          tags,
          summary: 'Run a failed or cancelled job again, with a fresh attempt budget (409 otherwise)',
          params: idParams,
        },
      },
      async (request) => client.retry(request.params.id),
    );

    app.get(
      '/jobs/:id/events',
      { config: { access: 'viewer' }, schema: { tags, summary: "A job's history", params: idParams } },
      async (request) => {
        const { id } = request.params;
        const [job, events] = await Promise.all([store.getJob(id), client.events(id)]);
        if (!job) throw jobNotFound(id);
        return { events };
      },
    );

    app.get(
      '/jobs/:id/logs',
      {
        config: { access: 'viewer' },
        schema: {
          tags,
          summary: "A job's log lines, oldest first",
          description: 'Pass the last line id as afterId to read on.',
          params: idParams,
          querystring: logQuery,
        },
      },
      async (request) => {
        const { id } = request.params;
        const job = await store.getJob(id);
        if (!job) throw jobNotFound(id);
        const { afterId, limit: max } = request.query;
        const logs = await client.logs(id, {
          ...(afterId !== undefined ? { afterId } : {}),
          ...(max !== undefined ? { limit: max } : {}),
        });
        return { logs };
      },
    );

    app.get(
      '/jobs/:id/result',
      {
        config: { access: 'viewer' },
        schema: {
          tags,
          summary: "Wait (bounded) for a job's outcome",
          description:
            '200 with {state, output, error} once the job has finished; 202 with its current state when it is still pending or running after `wait` (default 30s, at most 60s).',
          params: idParams,
          querystring: z.strictObject({
            wait: z
              .string()
              .regex(
                /^\d+(\.\d+)?(ms|s|m|h|d)?$/,
                'must be a duration such as 500ms, 30s or 1m (digits alone are ms)',
              )
              .optional(),
          }),
        },
      },
      async (request, reply) => {
        const { id } = request.params;
        const wait = request.query.wait ?? '30s';
        const waitMs = Math.min(
          parseDuration(/^[\d.]+$/.test(wait) ? Number(wait) : wait, 'wait'),
          MAX_RESULT_WAIT_MS,
        );
        const deadline = Date.now() + waitMs;
        const gone = AbortSignal.any([closing, abortOnClose(reply.raw)]);
        for (;;) {
          const job = await client.get(id);
          if (isFinished(job.state)) return outcome(job);
          const left = deadline - Date.now();
          if (left <= 0 || gone.aborted) return reply.code(202).send(outcome(job));
          await nextChange(
            store,
            (n) => n.type === 'jobs-finished' && n.ids.includes(id),
            Math.min(left, POLL_MS),
            gone,
          );
        }
      },
    );
  };
}

/** Aborts when the client goes away, so a long-poll stops reading for nobody. */
function abortOnClose(res: NodeJS.EventEmitter): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => controller.abort());
  return controller.signal;
}
