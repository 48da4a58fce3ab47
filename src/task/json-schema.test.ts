import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { inputJsonSchema, MAX_INPUT_SCHEMA_CHARS, taskDescription } from './json-schema.js';

describe('inputJsonSchema', () => {
  it('describes what a caller may send: defaults make fields optional, descriptions are kept', () => {
    const schema = inputJsonSchema(
      z.object({ url: z.string().describe('where'), width: z.number().int().min(1).default(64) }),
    );
    expect(schema).toMatchObject({
      type: 'object',
      properties: { url: { type: 'string', description: 'where' }, width: { type: 'integer', default: 64 } },
      required: ['url'],
    });
  });

  it('turns parts JSON Schema cannot express into {} and recursive schemas into references', () => {
    const Node = z.object({
      name: z.string(),
      get children() {
        return z.array(Node);
      },
    });
    const schema = inputJsonSchema(
      z.object({ at: z.date(), n: z.bigint(), check: z.custom<string>(() => true), tree: Node }),
    );
    expect(schema).toMatchObject({ properties: { at: {}, n: {}, check: {} } });
    expect(JSON.stringify(schema)).toContain('$ref');
  });

  it('gives null, never an error, for what it cannot convert or what is too large', () => {
    expect(inputJsonSchema({} as z.ZodType)).toBeNull();
    const wide = z.object(
      Object.fromEntries(
        Array.from({ length: 2000 }, (_, i) => [`field_${i}`, z.string().describe('x'.repeat(200))]),
      ),
    );
    expect(JSON.stringify(z.toJSONSchema(wide)).length).toBeGreaterThan(MAX_INPUT_SCHEMA_CHARS);
    expect(inputJsonSchema(wide)).toBeNull();
  });
});

describe('taskDescription', () => {
  it("is the task's own text, else its input schema's, else null", () => {
    const described = z.object({}).describe('from the schema');
    expect(taskDescription('mine', described)).toBe('mine');
    expect(taskDescription(undefined, described)).toBe('from the schema');
    expect(taskDescription('  ', z.object({}))).toBeNull();
  });
});
