import { PermanentError } from '../../core/errors.js';

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_$.-]+)\s*\}\}/g;

export interface TemplateScope {
  input: unknown;
  job: { id: string; attempt: number; task: string; queue: string };
}

function lookup(path: string, scope: TemplateScope): unknown {
  const [root, ...rest] = path.split('.');
  if (root !== 'input' && root !== 'job')
    throw new PermanentError(`{{${path}}}: placeholders start with input or job`);
  let value: unknown = scope[root];
  for (const key of rest) {
    if (typeof value !== 'object' || value === null || !(key in value))
      throw new PermanentError(`{{${path}}} has no value in this job's input`);
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

const text = (value: unknown): string => (typeof value === 'string' ? value : (JSON.stringify(value) ?? ''));

/** Quotes a value as one word for `/bin/sh`. */
export const shellQuote = (value: string): string => `'${value.replaceAll("'", `'\\''`)}'`;

/**
 * Fills `{{input.x}}`, `{{input}}`, `{{job.id}}`, … into one argument. Strings go in as they are,
 * other values as JSON; `quote` (for `shell: true`) quotes each value for the shell.
 */
export function fill(template: string, scope: TemplateScope, quote?: (value: string) => string): string {
  return template.replace(PLACEHOLDER, (_, path: string) => {
    const value = text(lookup(path, scope));
    return quote ? quote(value) : value;
  });
}
