import { Cron } from 'croner';
import { type Duration, parseDuration } from '../core/duration.js';
import { ValidationError } from '../core/errors.js';
import type { Trigger } from './types.js';

/** A time: a `Date`, milliseconds since the epoch, or an ISO 8601 string. */
export type TimeInput = Date | number | string;

/**
 * When a schedule fires, as users write it (JSON-friendly, so the CLI and HTTP API take the same).
 * - `{ cron: '0 2 * * *', timezone: 'Europe/Berlin' }` (5 or 6 fields; `timezone` defaults to UTC)
 * - `{ every: '15m', reference: '2026-01-01T00:07:00Z' }` (fires at `reference + k * every`;
 *   the reference defaults to the Unix epoch, so `every: '1h'` fires on the hour, UTC)
 * - `{ once: '2026-12-24T18:00:00Z' }`
 * - `{ datasets: ['raw_events', 'users'] }` (once per partition marked by all of them)
 * - `{ continuous: true, backoff: '1s', maxBackoff: '5m' }` (started again each time a run ends)
 */
export type TriggerSpec =
  | { cron: string; timezone?: string }
  | { every: Duration; reference?: TimeInput }
  | { once: TimeInput }
  | { datasets: string[] }
  | { continuous: true; backoff?: Duration; maxBackoff?: Duration };

const DATASET_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,199}$/;

function fail(path: string, message: string): never {
  throw new ValidationError(`${path}: ${message}`, [{ path, message }]);
}

/** Parses a time given as a Date, ms or ISO string; `path` names it in errors. */
export function parseTime(value: unknown, path: string): number {
  const ms =
    value instanceof Date
      ? value.getTime()
      : typeof value === 'number'
        ? value
        : typeof value === 'string'
          ? Date.parse(value)
          : Number.NaN;
  if (!Number.isFinite(ms)) fail(path, 'must be a Date, milliseconds since the epoch or an ISO 8601 time');
  return ms;
}

/** Checks a dataset name (also used for `markPartition`). */
export function checkDatasetName(name: unknown, path: string): string {
  if (typeof name !== 'string' || !DATASET_NAME.test(name)) {
    fail(path, 'must be 1-200 characters: letters, digits and _ . : / -, starting with a letter or digit');
  }
  return name;
}

function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) < 32) return true;
  return false;
}

/** Checks a partition name: any non-empty string up to 200 characters without control characters. */
export function checkPartition(partition: unknown, path: string): string {
  if (
    typeof partition !== 'string' ||
    partition.length === 0 ||
    partition.length > 200 ||
    hasControlCharacter(partition)
  ) {
    fail(path, 'must be a string of 1-200 characters without control characters');
  }
  return partition;
}

function checkTimezone(timezone: unknown, path: string): string {
  if (typeof timezone !== 'string') fail(path, 'must be an IANA time zone name such as Europe/Berlin');
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    fail(
      path,
      `unknown time zone ${JSON.stringify(timezone)} (use an IANA name such as Europe/Berlin or UTC)`,
    );
  }
  return timezone;
}

/** Parsed cron patterns, by zone and expression: a schedule's next fire time is asked for on every fire. */
const crons = new Map<string, Cron>();
const CRON_CACHE_MAX = 10_000;

function cronOf(expression: string, timezone: string, path = 'trigger.cron'): Cron {
  const key = `${timezone} ${expression}`;
  let cron = crons.get(key);
  if (cron) return cron;
  const fields = expression.trim().split(/\s+/).length;
  if (fields < 5 || fields > 6) {
    fail(
      path,
      `a cron expression has 5 fields (minute hour day month weekday) or 6 (seconds first); got ${fields}`,
    );
  }
  try {
    // croner's zone path costs ~10x its fixed-offset path: UTC is an offset of 0.
    cron = new Cron(
      expression,
      timezone === 'UTC' ? { utcOffset: 0, paused: true } : { timezone, paused: true },
    );
  } catch (err) {
    fail(
      path,
      `invalid cron expression ${JSON.stringify(expression)}: ${(err as Error).message.replace(/^CronPattern: /, '')}`,
    );
  }
  if (crons.size >= CRON_CACHE_MAX) crons.clear();
  crons.set(key, cron);
  return cron;
}

/** Turns what the user wrote into a stored trigger, or a `ValidationError` naming what is wrong. */
export function parseTrigger(spec: unknown, path = 'trigger'): Trigger {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    fail(path, 'must be an object: { cron }, { every }, { once }, { datasets } or { continuous: true }');
  }
  const s = spec as Record<string, unknown>;
  const kinds = ['cron', 'every', 'once', 'datasets', 'continuous'].filter((k) => s[k] !== undefined);
  if (kinds.length !== 1) {
    fail(
      path,
      `give exactly one of cron, every, once, datasets, continuous (got ${kinds.length ? kinds.join(', ') : 'none'})`,
    );
  }
  const allowed: Record<string, string[]> = {
    cron: ['cron', 'timezone'],
    every: ['every', 'reference'],
    once: ['once'],
    datasets: ['datasets'],
    continuous: ['continuous', 'backoff', 'maxBackoff'],
  };
  const kind = kinds[0] as string;
  for (const key of Object.keys(s)) {
    if (!allowed[kind]?.includes(key)) fail(`${path}.${key}`, `not an option of a ${kind} trigger`);
  }
  switch (kind) {
    case 'cron': {
      if (typeof s.cron !== 'string') fail(`${path}.cron`, 'must be a cron expression string');
      const timezone = s.timezone === undefined ? 'UTC' : checkTimezone(s.timezone, `${path}.timezone`);
      const expression = s.cron.trim();
      cronOf(expression, timezone, `${path}.cron`);
      return { type: 'cron', expression, timezone };
    }
    case 'every': {
      const everyMs = parseDuration(s.every as Duration, `${path}.every`);
      if (everyMs < 1000) fail(`${path}.every`, 'must be at least 1s');
      const referenceMs = s.reference === undefined ? 0 : parseTime(s.reference, `${path}.reference`);
      return { type: 'interval', everyMs, referenceMs };
    }
    case 'once':
      return { type: 'once', atMs: parseTime(s.once, `${path}.once`) };
    case 'datasets': {
      if (!Array.isArray(s.datasets) || s.datasets.length === 0) {
        fail(`${path}.datasets`, 'must be a non-empty array of dataset names');
      }
      const names = s.datasets.map((d, i) => checkDatasetName(d, `${path}.datasets.${i}`));
      if (new Set(names).size !== names.length) fail(`${path}.datasets`, 'lists a dataset twice');
      return { type: 'datasets', datasets: names };
    }
    default: {
      if (s.continuous !== true) fail(`${path}.continuous`, 'must be true');
      const backoffMs = parseDuration((s.backoff as Duration | undefined) ?? '1s', `${path}.backoff`);
      const maxBackoffMs = parseDuration(
        (s.maxBackoff as Duration | undefined) ?? '5m',
        `${path}.maxBackoff`,
      );
      if (maxBackoffMs < backoffMs) fail(`${path}.maxBackoff`, 'must be at least the backoff');
      return { type: 'continuous', backoffMs, maxBackoffMs };
    }
  }
}

/** The trigger as a user would write it back (for `stint schedules show`, the HTTP API). */
export function describeTrigger(trigger: Trigger): string {
  switch (trigger.type) {
    case 'cron':
      return `cron ${trigger.expression} (${trigger.timezone})`;
    case 'interval':
      return `every ${formatMs(trigger.everyMs)} from ${new Date(trigger.referenceMs).toISOString()}`;
    case 'once':
      return `once at ${new Date(trigger.atMs).toISOString()}`;
    case 'datasets':
      return `when ${trigger.datasets.join(' and ')} have a partition`;
    case 'continuous':
      return `continuous (restart backoff ${formatMs(trigger.backoffMs)} up to ${formatMs(trigger.maxBackoffMs)})`;
  }
}

function formatMs(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** True for triggers that fire at times (cron, interval, once): they have fire times to compute. */
export function isTimeTrigger(trigger: Trigger): boolean {
  return trigger.type === 'cron' || trigger.type === 'interval' || trigger.type === 'once';
}

/** The first fire time strictly after `afterMs`, or null when there is none (a past `once`; non-time triggers). */
export function nextFireAfter(trigger: Trigger, afterMs: number): number | null {
  switch (trigger.type) {
    case 'cron': {
      const next = cronOf(trigger.expression, trigger.timezone).nextRun(new Date(afterMs));
      return next ? next.getTime() : null;
    }
    case 'interval': {
      const { everyMs, referenceMs } = trigger;
      if (referenceMs > afterMs) return referenceMs;
      return referenceMs + (Math.floor((afterMs - referenceMs) / everyMs) + 1) * everyMs;
    }
    case 'once':
      return trigger.atMs > afterMs ? trigger.atMs : null;
    default:
      return null;
  }
}

/** The next `count` fire times strictly after `afterMs` (fewer when the trigger ends). */
export function nextFireTimes(trigger: Trigger, afterMs: number, count: number): number[] {
  const times: number[] = [];
  let at = afterMs;
  while (times.length < count) {
    const next = nextFireAfter(trigger, at);
    if (next === null) break;
    times.push(next);
    at = next;
  }
  return times;
}

/**
 * Fire times in [fromMs, toMs], oldest first, at most `limit`; `more` tells whether the range
 * holds more than were returned.
 */
export function fireTimesBetween(
  trigger: Trigger,
  fromMs: number,
  toMs: number,
  limit: number,
): { times: number[]; more: boolean } {
  const times: number[] = [];
  let next = nextFireAfter(trigger, fromMs - 1);
  while (next !== null && next <= toMs) {
    if (times.length === limit) return { times, more: true };
    times.push(next);
    next = nextFireAfter(trigger, next);
  }
  return { times, more: false };
}

/** How many fire times [fromMs, toMs] holds, counting up to `cap` (returns `cap` when there are at least that many). */
export function countFireTimes(trigger: Trigger, fromMs: number, toMs: number, cap: number): number {
  if (trigger.type === 'interval') {
    const first = nextFireAfter(trigger, fromMs - 1);
    if (first === null || first > toMs) return 0;
    return Math.min(cap, Math.floor((toMs - first) / trigger.everyMs) + 1);
  }
  return fireTimesBetween(trigger, fromMs, toMs, cap).times.length;
}

/** The time zone fire times are shown and `{{ date }}` is formatted in. */
export function triggerTimezone(trigger: Trigger): string {
  return trigger.type === 'cron' ? trigger.timezone : 'UTC';
}

/** The latest `n` fire times in [fromMs, beforeMs), oldest first (found backwards, so a long gap costs nothing). */
export function latestFireTimesBefore(
  trigger: Trigger,
  fromMs: number,
  beforeMs: number,
  n: number,
): number[] {
  if (n <= 0 || beforeMs <= fromMs) return [];
  switch (trigger.type) {
    case 'cron': {
      const runs = cronOf(trigger.expression, trigger.timezone).previousRuns(n, new Date(beforeMs));
      return runs
        .map((d) => d.getTime())
        .filter((t) => t >= fromMs)
        .reverse();
    }
    case 'interval': {
      const first = nextFireAfter(trigger, fromMs - 1);
      if (first === null || first >= beforeMs) return [];
      const last = first + Math.floor((beforeMs - 1 - first) / trigger.everyMs) * trigger.everyMs;
      const times: number[] = [];
      for (let t = last; t >= first && times.length < n; t -= trigger.everyMs) times.push(t);
      return times.reverse();
    }
    case 'once':
      return trigger.atMs >= fromMs && trigger.atMs < beforeMs ? [trigger.atMs] : [];
    default:
      return [];
  }
}
