import { ValidationError } from '../core/errors.js';

/**
 * Placeholders a schedule's input may use, filled in when a run is created:
 * - `{{ fireTime }}`: the fire time, ISO 8601 in UTC (`2026-11-22T02:00:00.000Z`);
 * - `{{ date }}`: the fire time's date in the schedule's time zone (`2026-11-22`);
 * - `{{ partition }}`: the dataset partition (dataset triggers, or a run-now/backfill that names one);
 * - `{{ schedule }}`: the schedule's name.
 * A string that is exactly one placeholder becomes its value; placeholders inside longer strings
 * are replaced in place.
 */
export interface RunParams {
  fireTime: number;
  timezone: string;
  partition: string | null;
  schedule: string;
}

export const PLACEHOLDERS = ['fireTime', 'date', 'partition', 'schedule'] as const;
type Placeholder = (typeof PLACEHOLDERS)[number];

const PATTERN = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

const dateFormats = new Map<string, Intl.DateTimeFormat>();

/** `YYYY-MM-DD` of `ms` in `timezone`. */
export function formatDate(ms: number, timezone: string): string {
  let format = dateFormats.get(timezone);
  if (!format) {
    // en-CA formats dates as YYYY-MM-DD.
    format = new Intl.DateTimeFormat('en-CA', {
      timeZone: timezone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    dateFormats.set(timezone, format);
  }
  return format.format(ms);
}

function placeholderValue(name: Placeholder, params: RunParams): string {
  switch (name) {
    case 'fireTime':
      return new Date(params.fireTime).toISOString();
    case 'date':
      return formatDate(params.fireTime, params.timezone);
    case 'partition':
      return params.partition ?? '';
    case 'schedule':
      return params.schedule;
  }
}

/** The placeholders a template uses; a `ValidationError` naming the path of an unknown one. */
export function placeholdersIn(template: unknown, path = 'input'): Set<Placeholder> {
  const used = new Set<Placeholder>();
  const walk = (value: unknown, at: string): void => {
    if (typeof value === 'string') {
      for (const match of value.matchAll(PATTERN)) {
        const name = match[1] as string;
        if (!(PLACEHOLDERS as readonly string[]).includes(name)) {
          throw new ValidationError(`${at}: unknown placeholder {{ ${name} }}`, [
            { path: at, message: `unknown placeholder {{ ${name} }} (known: ${PLACEHOLDERS.join(', ')})` },
          ]);
        }
        used.add(name as Placeholder);
      }
    } else if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) walk(v, `${at}.${i}`);
    } else if (typeof value === 'object' && value !== null) {
      for (const [k, v] of Object.entries(value)) walk(v, `${at}.${k}`);
    }
  };
  walk(template, path);
  return used;
}

/** A copy of `template` with every placeholder filled in (values without placeholders are shared, not copied). */
export function renderParams<T>(template: T, params: RunParams): T {
  const render = (value: unknown): unknown => {
    if (typeof value === 'string') {
      if (!value.includes('{{')) return value;
      return value.replace(PATTERN, (whole, name: string) =>
        (PLACEHOLDERS as readonly string[]).includes(name)
          ? placeholderValue(name as Placeholder, params)
          : whole,
      );
    }
    if (Array.isArray(value)) return value.map(render);
    if (typeof value === 'object' && value !== null) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = render(v);
      return out;
    }
    return value;
  };
  return render(template) as T;
}
