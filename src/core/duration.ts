import { ValidationError } from './errors.js';

/** A duration: milliseconds, or a string such as `'500ms'`, `'30s'`, `'5m'`, `'2h'`, `'7d'`. */
export type Duration = number | string;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/;

/** Parses a duration into milliseconds; `field` names the option in the error message. */
export function parseDuration(value: Duration, field: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) {
      throw new ValidationError(`${field} must be a non-negative number of milliseconds`, [
        { path: field, message: `got ${value}` },
      ]);
    }
    return value;
  }
  const match = PATTERN.exec(value);
  if (!match) {
    throw new ValidationError(`${field} must be a duration such as 500ms, 30s, 5m, 2h or 7d`, [
      { path: field, message: `got ${JSON.stringify(value)}` },
    ]);
  }
  return Math.round(Number(match[1]) * (UNITS[match[2] as string] as number));
}
