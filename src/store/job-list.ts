/**
 * What `listJobs` accepts beyond state, task, queue and flow — a creation-time range and a text
 * search in metadata — checked once for both stores, and the pieces of SQL they share in shape.
 *
 * Listing walks the primary key newest first and stops at the page limit. A time range is turned
 * into an id range, because ids grow with `created_at`: a binary search over the primary key (a
 * recursive CTE, about log2(max id) index probes, inside the list statement itself) finds the
 * first id created at or after a time, so the walk starts and ends inside the range instead of
 * filtering the whole table. The exact `created_at` comparison still applies on top.
 *
 * Ids grow with `created_at` only roughly: a PostgreSQL transaction stamps its jobs with its start
 * time (`now()`) but takes ids when it inserts, and a SQLite writer reads the clock before it gets
 * the write lock. The id bounds therefore leave CREATED_AT_DISORDER_MS of slack on each side; a job
 * stamped more than that out of id order (a transactional submit held open that long, or the
 * machine's clock stepping back) can be missed at the edge of a range.
 */
import { ValidationError } from '../core/errors.js';
import type { JobFilter } from './types.js';

/** How far out of id order a job's `created_at` may be and still be found by a time range. */
export const CREATED_AT_DISORDER_MS = 60_000;
/** The longest `search` text. */
export const MAX_SEARCH_LENGTH = 200;

export interface ListRange {
  /** Inclusive lower bound on `created_at`, or null. */
  createdAfter: number | null;
  /** Exclusive upper bound on `created_at`, or null. */
  createdBefore: number | null;
  /** A LIKE pattern (`\` escapes) matching the search text anywhere, or null. */
  pattern: string | null;
}

function time(value: number | undefined, path: string): number | null {
  if (value === undefined) return null;
  if (!Number.isSafeInteger(value)) {
    throw new ValidationError(`${path} must be whole milliseconds since the epoch`, [
      { path, message: `got ${String(value)}` },
    ]);
  }
  return value;
}

/** Checks the time range and search of a filter; a `ValidationError` names the field. */
export function checkListRange(filter: JobFilter): ListRange {
  const createdAfter = time(filter.createdAfter, 'createdAfter');
  const createdBefore = time(filter.createdBefore, 'createdBefore');
  if (createdAfter !== null && createdBefore !== null && createdAfter >= createdBefore) {
    throw new ValidationError('createdAfter must be earlier than createdBefore', [
      { path: 'createdAfter', message: `${createdAfter} is not before ${createdBefore}` },
    ]);
  }
  let pattern: string | null = null;
  if (filter.search !== undefined) {
    const text = filter.search;
    if (typeof text !== 'string' || text.length === 0 || text.length > MAX_SEARCH_LENGTH) {
      throw new ValidationError(`search must be 1 to ${MAX_SEARCH_LENGTH} characters`, [
        {
          path: 'search',
          message: `got ${typeof text === 'string' ? `${text.length} characters` : typeof text}`,
        },
      ]);
    }
    pattern = `%${escapeLike(text)}%`;
  }
  return { createdAfter, createdBefore, pattern };
}

/** `%`, `_` and `\` stand for themselves (the statements say `ESCAPE '\'`). */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * A recursive CTE `name(lo, hi)` whose `max(lo)` is an id B such that every job with a smaller id
 * was created before the threshold (bound twice, at `threshold`), and the first job at or after B
 * was not: a binary search over the primary key, one probe per step. `jobs` is the table, as the
 * dialect names it; `zero` a 0 of the id's type; `threshold` gives the bound parameter's placeholder.
 */
export function idBoundCte(name: string, jobs: string, zero: string, threshold: () => string): string {
  const mid = '(lo + hi) / 2';
  const probe = `(SELECT created_at FROM ${jobs} WHERE id >= ${mid} ORDER BY id LIMIT 1)`;
  return `${name}(lo, hi) AS (
    SELECT ${zero}, coalesce((SELECT max(id) FROM ${jobs}), 0) + 1
    UNION ALL
    SELECT CASE WHEN ${probe} < ${threshold()} THEN ${mid} + 1 ELSE lo END,
           CASE WHEN ${probe} < ${threshold()} THEN hi ELSE ${mid} END
    FROM ${name} WHERE lo < hi)`;
}
