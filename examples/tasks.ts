/**
 * Example tasks: what `stint dev` (`npm start`) runs, and what the README's commands submit.
 * A task file is any module that exports tasks made with `defineTask`.
 */
import { z } from 'zod';
import { defineTask, PermanentError } from '../src/index.js';

/** Greets someone: the smallest useful task. */
export const hello = defineTask({
  name: 'hello',
  input: z.object({ name: z.string().min(1) }),
  run: (ctx, { name }) => {
    ctx.log.info(`saying hello to ${name}`);
    return { greeting: `Hello, ${name}!` };
  },
});

/** Adds numbers. */
export const add = defineTask({
  name: 'add',
  input: z.object({ a: z.number(), b: z.number() }),
  run: (_ctx, { a, b }) => ({ sum: a + b }),
});

/** Works for a while, reporting progress and logging each step; honours cancel and timeout. */
export const sleep = defineTask({
  name: 'sleep',
  input: z.object({
    seconds: z.number().positive().max(3600),
    steps: z.number().int().positive().default(5),
  }),
  timeout: '2h',
  run: async (ctx, { seconds, steps }) => {
    for (let step = 1; step <= steps; step++) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, (seconds * 1000) / steps);
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(ctx.signal.reason);
        });
      });
      ctx.progress(step, steps);
      ctx.log.info(`step ${step} of ${steps} done`);
    }
    return { sleptSeconds: seconds };
  },
});

/** Fails until its third attempt: shows retries with backoff. */
export const flaky = defineTask({
  name: 'flaky',
  input: z.object({ succeedOnAttempt: z.number().int().min(1).default(3) }),
  retry: { maxAttempts: 5, backoff: '500ms' },
  run: (ctx, { succeedOnAttempt }) => {
    if (ctx.attempt < succeedOnAttempt) {
      ctx.log.warn(`attempt ${ctx.attempt} fails on purpose`);
      throw new Error(`flaky failure on attempt ${ctx.attempt}`);
    }
    return { succeededOnAttempt: ctx.attempt };
  },
});

/** Charges a card; a declined card is a permanent failure (no retry). */
export const charge = defineTask({
  name: 'charge',
  input: z.object({
    cents: z.number().int().positive(),
    card: z.string().regex(/^\d{4}$/, 'expected the last 4 digits'),
  }),
  run: (ctx, { cents, card }) => {
    if (card === '0000') throw new PermanentError(`card ending ${card} was declined`);
    ctx.log.info(`charged ${cents} cents to card ending ${card}`);
    return { chargedCents: cents };
  },
});

export const exampleTasks = [hello, add, sleep, flaky, charge];
