import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ScheduleDefinition } from '../../client/schedules.js';
import { ValidationError } from '../../core/errors.js';
import { flowSpecSchema } from '../../flow/spec.js';
import type { TriggerSpec } from '../../schedule/trigger.js';
import type { RouteDeps } from '../deps.js';
import { cursor, duration, limit, metadata, nameParams, retryOptions, time, trigger } from '../schemas.js';

const tags = ['schedules'];

/** Options of the jobs a schedule creates (`ScheduleJobOptions`). */
const jobOptions = z.strictObject({
  queue: z.string().min(1).max(200).optional(),
  priority: z.number().int().optional(),
  maxAttempts: z.number().int().min(1).optional(),
  retry: retryOptions.optional(),
  timeout: duration.optional(),
  metadata: metadata.optional(),
});

/** Everything of a schedule but its name; all optional, so PATCH takes it as it is. */
const scheduleFields = {
  description: z.string().max(2000).optional(),
  task: z.string().min(1).max(200).optional().describe('the task each run submits (or give flow)'),
  input: z
    .unknown()
    .optional()
    .describe('may use {{ fireTime }}, {{ date }}, {{ partition }}, {{ schedule }}'),
  job: jobOptions.optional(),
  flow: flowSpecSchema.optional().describe('the flow each run submits (or give task)'),
  flowStore: z.record(z.string(), z.unknown()).optional(),
  trigger: trigger.optional(),
  misfire: z.enum(['skip', 'fire_once', 'catch_up']).optional(),
  misfireGrace: duration.optional(),
  maxCatchUp: z.number().int().min(1).optional(),
  overlap: z.enum(['allow', 'skip', 'queue', 'cancel_previous']).optional(),
  maxRuns: z.number().int().min(1).optional(),
  paused: z.boolean().optional(),
  metadata: metadata.optional(),
};

const createBody = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.:-]{1,200}$/, 'must be 1-200 letters, digits or _ . : -'),
  ...scheduleFields,
  trigger,
});
const patchBody = z.strictObject(scheduleFields);

/** The flow layer names a flow's fields from its root (`steps.0.task`); here the flow sits under `flow`. */
function underFlow(err: unknown): unknown {
  if (!(err instanceof ValidationError)) return err;
  const issues = err.issues.map((i) => (i.path.startsWith('steps') ? { ...i, path: `flow.${i.path}` } : i));
  return new ValidationError(err.message, issues, { cause: err });
}
const rethrow = (err: unknown): never => {
  throw underFlow(err);
};

export function scheduleRoutes({ client }: RouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/schedules',
      {
        config: { access: 'operator' },
        schema: {
          tags,
          summary: 'Create a schedule',
          description: 'Give task (with input) or flow. 409 when the name is taken.',
          body: createBody,
        },
      },
      async (request, reply) => {
        const schedule = await client.createSchedule(request.body as ScheduleDefinition).catch(rethrow);
        return reply.code(201).send(schedule);
      },
    );

    app.get(
      '/schedules',
      {
        config: { access: 'viewer' },
        schema: {
          tags,
          summary: 'List schedules, by name',
          querystring: z.strictObject({
            state: z.enum(['active', 'paused', 'completed']).optional(),
            triggerType: z.enum(['cron', 'interval', 'once', 'datasets', 'continuous']).optional(),
            cursor,
            limit: limit(500),
          }),
        },
      },
      async (request) => client.listSchedules(request.query),
    );

    app.post(
      '/schedules/preview',
      {
        config: { access: 'viewer' },
        schema: {
          tags,
          summary: "A trigger's next fire times (nothing is stored)",
          body: z.strictObject({
            trigger,
            count: z.number().int().min(1).max(1000).optional().describe('default 5'),
            after: time.optional().describe('default now'),
          }),
        },
      },
      async (request) => {
        const { trigger: spec, count, after } = request.body;
        const fireTimes = await client.nextFireTimes(spec as TriggerSpec, {
          ...(count !== undefined ? { count } : {}),
          ...(after !== undefined ? { after } : {}),
        });
        return { fireTimes };
      },
    );

    app.get(
      '/schedules/:name',
      {
        config: { access: 'viewer' },
        schema: { tags, summary: 'A schedule with its next fire times', params: nameParams },
      },
      async (request) => client.getSchedule(request.params.name),
    );

    app.patch(
      '/schedules/:name',
      {
        config: { access: 'operator' },
        schema: {
          tags,
          summary: 'Change a schedule (give only what changes)',
          description:
            'A changed trigger starts from its next fire time after now. 409 when it changed meanwhile.',
          params: nameParams,
          body: patchBody,
        },
      },
      async (request) =>
        client
          .updateSchedule(request.params.name, request.body as Partial<Omit<ScheduleDefinition, 'name'>>)
          .catch(rethrow),
    );

    app.delete(
      '/schedules/:name',
      {
        config: { access: 'admin' },
        schema: {
          tags,
          summary: 'Delete a schedule with its events, runs and backfills (not their jobs or flows)',
          params: nameParams,
        },
      },
      async (request, reply) => {
        await client.deleteSchedule(request.params.name);
        return reply.code(204).send();
      },
    );

    for (const action of ['pause', 'resume'] as const) {
      app.post(
        `/schedules/:name/${action}`,
        {
          config: { access: 'operator' },
          schema: {
            tags,
            summary:
              action === 'pause'
                ? 'Pause an active schedule (409 otherwise)'
                : 'Resume a paused schedule; missed fire times follow its misfire policy (409 otherwise)',
            params: nameParams,
          },
        },
        async (request) =>
          action === 'pause'
            ? client.pauseSchedule(request.params.name)
            : client.resumeSchedule(request.params.name),
      );
    }

    app.post(
      '/schedules/:name/run',
      {
        config: { access: 'operator' },
        schema: {
          tags,
          summary: 'Run a schedule once now (not a fire time; no overlap policy)',
          description: 'A dataset schedule needs the partition to run for.',
          params: nameParams,
          body: z.strictObject({ partition: z.string().min(1).max(200).optional() }).nullish(),
        },
      },
      async (request, reply) => {
        const partition = request.body?.partition;
        const run = await client.runScheduleNow(
          request.params.name,
          partition === undefined ? {} : { partition },
        );
        return reply.code(201).send(run);
      },
    );

    app.get(
      '/schedules/:name/runs',
      {
        config: { access: 'viewer' },
        schema: {
          tags,
          summary: "A schedule's runs, newest first, with their job's or flow's state",
          params: nameParams,
          querystring: z.strictObject({ cursor, limit: limit(500) }),
        },
      },
      async (request) => client.scheduleRuns(request.params.name, request.query),
    );

    app.get(
      '/schedules/:name/events',
      {
        config: { access: 'viewer' },
        schema: { tags, summary: "A schedule's history, oldest first", params: nameParams },
      },
      async (request) => ({ events: await client.scheduleEvents(request.params.name) }),
    );
  };
}
