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

/** The last fire time formatted: a batch renders many runs of the same fire time. */
let lastIso = { ms: Number.NaN, text: '' };
let lastDate = { ms: Number.NaN, timezone: '', text: '' };

function placeholderValue(name: Placeholder, params: RunParams): string {
  switch (name) {
    case 'fireTime':
      if (lastIso.ms !== params.fireTime)
        lastIso = { ms: params.fireTime, text: new Date(params.fireTime).toISOString() };
      return lastIso.text;
    case 'date':
      if (lastDate.ms !== params.fireTime || lastDate.timezone !== params.timezone)
        lastDate = {
          ms: params.fireTime,
          timezone: params.timezone,
          text: formatDate(params.fireTime, params.timezone),
        };
      return lastDate.text;
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

/** A string with placeholders, split once: literal text and the placeholders between. */
type Piece = { text: string } | { placeholder: Placeholder };
const MAX_SPLIT = 10_000;
const splitCache = new Map<string, Piece[]>();

function split(value: string): Piece[] {
  let pieces = splitCache.get(value);
  if (pieces) return pieces;
  pieces = [];
  let at = 0;
  for (const match of value.matchAll(PATTERN)) {
    const name = match[1] as string;
    // An unknown name stays as it is written (creating the schedule rejects them).
    if (!(PLACEHOLDERS as readonly string[]).includes(name)) continue;
    if (match.index > at) pieces.push({ text: value.slice(at, match.index) });
    pieces.push({ placeholder: name as Placeholder });
    at = match.index + match[0].length;
  }
  if (at < value.length) pieces.push({ text: value.slice(at) });
  if (splitCache.size >= MAX_SPLIT) splitCache.clear();
  splitCache.set(value, pieces);
  return pieces;
}

function renderString(value: string, params: RunParams): string {
  let out = '';
  for (const piece of split(value))
    out += 'text' in piece ? piece.text : placeholderValue(piece.placeholder, params);
  return out;
}

/** A copy of `template` with every placeholder filled in (values without placeholders are shared, not copied). */
export function renderParams<T>(template: T, params: RunParams): T {
  const render = (value: unknown): unknown => {
    if (typeof value === 'string') return value.includes('{{') ? renderString(value, params) : value;
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
