import { readFile } from 'node:fs/promises';
import { ValidationError } from '../core/errors.js';

/** Flag values as the schedule, dataset and backfill commands read them; every error names the flag. */

export function usage(flag: string, message: string, value?: string): never {
  throw new ValidationError(`${flag} ${message}`, [{ path: flag, message: value ?? message }]);
}

export function parseJsonFlag(flag: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ValidationError(
      `${flag} is not valid JSON (${(err as Error).message}); quote it for the shell, e.g. ${flag} '{"key":"value"}'`,
      [{ path: flag, message: 'invalid JSON' }],
    );
  }
}

export function jsonObjectFlag(flag: string, text: string): Record<string, unknown> {
  const value = parseJsonFlag(flag, text);
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    usage(flag, `must be a JSON object, e.g. ${flag} '{"key":"value"}'`, text);
  return value as Record<string, unknown>;
}

/** An integer flag within [min, max]; undefined stays undefined. */
export function intFlag(
  flag: string,
  text: string | undefined,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
    usage(flag, `must be an integer ${range} (got ${JSON.stringify(text)})`, text);
  }
  return n;
}

export function parseLimitFlag(text: string): number {
  return intFlag('--limit', text, 1, 1000) as number;
}

/** `a,b, c` -> `['a', 'b', 'c']`; empty entries are a usage error. */
export function listFlag(flag: string, text: string): string[] {
  const items = text.split(',').map((s) => s.trim());
  if (items.some((s) => s === ''))
    usage(flag, `takes a comma-separated list without empty entries, e.g. ${flag} a,b`, text);
  return items;
}

/** One of `choices`, or a usage error listing them. */
export function choiceFlag<T extends string>(
  flag: string,
  text: string | undefined,
  choices: readonly T[],
): T | undefined {
  if (text === undefined) return undefined;
  if (!choices.includes(text as T))
    usage(flag, `must be one of ${choices.join(', ')} (got ${JSON.stringify(text)})`, text);
  return text as T;
}

/** A file's text, or stdin's for `-`; a missing file is a usage error naming the flag. */
export async function readTextFlag(flag: string, file: string): Promise<string> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new ValidationError(
      `${flag} ${file}: cannot read it (${(err as Error).message})`,
      [{ path: flag, message: file }],
      {
        cause: err,
      },
    );
  }
}

/** An ISO 8601 time flag, checked here so the message names the flag. */
export function timeFlag(flag: string, text: string): string {
  if (!Number.isFinite(Date.parse(text)))
    usage(flag, `must be an ISO 8601 time such as 2026-11-22T02:00:00Z (got ${JSON.stringify(text)})`, text);
  return text;
}

/** `cpu=4,memoryMb=8000` -> `{ cpu: '4', memoryMb: '8000' }`; each entry must be key=value. */
export function keyValueFlag(flag: string, text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of listFlag(flag, text)) {
    const eq = item.indexOf('=');
    if (eq <= 0) usage(flag, `takes key=value pairs separated by commas, e.g. ${flag} a=1,b=2`, text);
    out[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
  }
  return out;
}

/** `cpu=4,gpu=1` -> `{ cpu: 4, gpu: 1 }`. */
export function resourcesFlag(flag: string, text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(keyValueFlag(flag, text))) {
    const n = Number(value);
    if (value === '' || !Number.isFinite(n) || n < 0)
      usage(flag, `${key} must be a number of at least 0 (got ${JSON.stringify(value)})`, text);
    out[key] = n;
  }
  return out;
}
