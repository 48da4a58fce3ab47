import { z } from 'zod';

/** A JSON Schema longer than this (as JSON text) is not registered: the UI would not use it well. */
export const MAX_INPUT_SCHEMA_CHARS = 256 * 1024;

/**
 * A task's input schema as JSON Schema (draft 2020-12), for the registry that the HTTP API and the
 * web UI read: what callers may send (`io: 'input'`, so fields with defaults are optional). Parts
 * zod cannot express (a transform's output, a custom check, a date) become `{}` (anything). Null
 * when the schema cannot be converted at all or is too large: registering a task never fails
 * because of its schema.
 */
export function inputJsonSchema(schema: z.ZodType): Record<string, unknown> | null {
  let out: Record<string, unknown>;
  try {
    out = z.toJSONSchema(schema, { unrepresentable: 'any', io: 'input', cycles: 'ref' }) as Record<
      string,
      unknown
    >;
  } catch {
    // Not representable (or not a zod 4 schema): the task is registered without a schema.
    return null;
  }
  return JSON.stringify(out).length > MAX_INPUT_SCHEMA_CHARS ? null : out;
}

/** The task's description, else its input schema's (`z.object(...).describe('...')`), else null. */
export function taskDescription(description: string | undefined, schema: z.ZodType): string | null {
  if (typeof description === 'string' && description.trim() !== '') return description;
  const own = (schema as { description?: unknown }).description;
  return typeof own === 'string' && own.trim() !== '' ? own : null;
}
