import { z } from 'zod';
import { JOB_STATES } from '../core/job.js';

/**
 * Zod schemas shared by the routes. Fastify validates requests with them and @fastify/swagger
 * documents them (through fastify-type-provider-zod), so the OpenAPI document cannot drift from
 * what the server accepts. The client functions behind the routes still check everything they
 * always check (task inputs, triggers, flow graphs); these schemas only fix the JSON shape.
 */

/** A duration: milliseconds, or a string such as `500ms`, `30s`, `5m`, `2h`, `7d`. */
export const duration = z
  .union([z.number().nonnegative(), z.string().max(50)])
  .describe('milliseconds, or a string such as 500ms, 30s, 5m, 2h, 7d');

/** A time: milliseconds since the epoch or an ISO 8601 string. */
export const time = z
  .union([z.number(), z.string().max(100)])
  .describe('milliseconds since the epoch, or an ISO 8601 string');

export const metadata = z.record(z.string(), z.unknown()).describe('free-form JSON object');

/** Ids are decimal strings in SQLite and PostgreSQL alike; anything else cannot name a row. */
export const idParams = z.strictObject({ id: z.string().regex(/^[0-9]{1,19}$/, 'must be a numeric id') });
export const nameParams = z.strictObject({ name: z.string().min(1).max(200) });

export const limit = (max: number) => z.coerce.number().int().min(1).max(max).optional();
export const cursor = z.string().min(1).max(500).optional();

/** `?state=a,b` or `?state=a&state=b`. */
export function listOf<T extends string>(values: readonly [T, ...T[]]) {
  return z
    .preprocess(
      (v) => (typeof v === 'string' ? v.split(',').filter((s) => s.length > 0) : v),
      z.array(z.enum(values)).min(1),
    )
    .optional();
}

export const jobStates = listOf(JOB_STATES as [string, ...string[]]);

export const retryOptions = z.strictObject({
  maxAttempts: z.number().int().min(1).optional(),
  backoff: duration.optional(),
  factor: z.number().min(1).optional(),
  maxBackoff: duration.optional(),
  jitter: z.number().min(0).max(1).optional(),
});

/** Options of one submission; each overrides the task's default (see `SubmitOptions`). */
export const submitOptions = z.strictObject({
  runAt: time.optional().describe('start no earlier than this time'),
  delay: duration.optional().describe('start no earlier than this long after submission'),
  priority: z.number().int().optional().describe('higher runs first'),
  queue: z.string().min(1).max(200).optional(),
  maxAttempts: z.number().int().min(1).optional(),
  retry: retryOptions.optional(),
  timeout: duration.optional().describe('per-attempt deadline'),
  dedupKey: z.string().min(1).max(500).optional(),
  dedupWindow: duration.optional(),
  metadata: metadata.optional(),
  resources: z
    .record(z.string(), z.number().min(0))
    .optional()
    .describe("what the job takes of its worker, e.g. { cpu: 2 }; replaces the task's"),
  labels: z
    .record(z.string(), z.union([z.string(), z.literal(true)]))
    .optional()
    .describe('labels the worker must have: a string must match, true asks only for the label'),
  concurrency: z
    .strictObject({ key: z.string().min(1).max(500), limit: z.number().int().min(1) })
    .nullable()
    .optional()
    .describe('at most `limit` running jobs of `key` across the cluster'),
});

export type SubmitOptionsBody = z.infer<typeof submitOptions>;

/** An optional `{ reason }` body (cancels); no body at all arrives as null. */
export const reasonBody = z.strictObject({ reason: z.string().max(1000).optional() }).nullish();

/** `afterId` and `limit` for log reads. */
export const logQuery = z.strictObject({
  afterId: z.coerce.number().int().min(0).optional(),
  limit: limit(5000),
});

/**
 * A trigger as users write it (see `TriggerSpec`). Only its being an object is checked here: the
 * schedule layer's own check names the wrong field more precisely than a union's "invalid input".
 */
export const trigger = z
  .record(z.string(), z.unknown())
  .describe(
    'one of {cron, timezone?}, {every, reference?}, {once}, {datasets: [names]}, {continuous: true, backoff?, maxBackoff?}',
  )
  .meta({
    examples: [
      { cron: '0 2 * * *', timezone: 'Europe/Berlin' },
      { every: '15m', reference: '2026-01-01T00:07:00Z' },
      { once: '2026-12-24T18:00:00Z' },
      { datasets: ['raw_events', 'users'] },
      { continuous: true, backoff: '1s', maxBackoff: '5m' },
    ],
  });
