import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  type Client,
  defineTask,
  type JobHandle,
  type TaskContext,
  type TaskInput,
  type TaskOutput,
} from '../src/index.js';

const task = defineTask({
  name: 'typed',
  input: z.object({ id: z.string(), count: z.number().default(1) }),
  run: async (ctx, input) => {
    expectTypeOf(ctx).toEqualTypeOf<TaskContext>();
    expectTypeOf(input).toEqualTypeOf<{ id: string; count: number }>();
    return { ok: true as const, id: input.id };
  },
});

declare const client: Client;

describe('public API types', () => {
  it('takes the schema input (defaults optional) and yields the handler output', () => {
    expectTypeOf<TaskInput<typeof task>>().toEqualTypeOf<{ id: string; count?: number | undefined }>();
    expectTypeOf<TaskOutput<typeof task>>().toEqualTypeOf<{ ok: true; id: string }>();
    expectTypeOf(client.submit(task, { id: 'a' })).resolves.toEqualTypeOf<
      JobHandle<{ ok: true; id: string }>
    >();
    expectTypeOf(client.run(task, { id: 'a' })).resolves.toEqualTypeOf<{ ok: true; id: string }>();
    // @ts-expect-error: id must be a string
    void client.submit(task, { id: 1 });
    // @ts-expect-error: id is required
    void client.submit(task, {});
  });

  it('types jobs submitted by name as the caller says', () => {
    expectTypeOf(client.submit<number>('other', {})).resolves.toEqualTypeOf<JobHandle<number>>();
    expectTypeOf(client.job<string>('1').result()).resolves.toEqualTypeOf<string>();
  });
});
