/**
 * The jobs page's read, from the URL query alone (no React): the app starts it at load, in parallel
 * with GET /auth/me, when the page being opened is /jobs; the page then takes that answer instead of
 * asking again (see prefetch.ts).
 */
import { api, type Query } from './api';
import type { JobPage, JobState } from './types';

export const JOB_STATE_NAMES: readonly JobState[] = [
  'pending',
  'running',
  'succeeded',
  'failed',
  'cancelled',
];

/** Created-time presets: the window's length in ms. */
export const RANGES: { value: string; label: string; ms: number }[] = [
  { value: '15m', label: 'Last 15 min', ms: 15 * 60_000 },
  { value: '1h', label: 'Last hour', ms: 3600_000 },
  { value: '24h', label: 'Last 24 h', ms: 24 * 3600_000 },
  { value: '7d', label: 'Last 7 days', ms: 7 * 24 * 3600_000 },
];

export const PAGE_SIZES = [50, 100, 200] as const;

/** A `datetime-local` value ("2026-11-23T20:41") as ms since the epoch in this browser's zone. */
function localTime(value: string | null): number | undefined {
  if (!value) return undefined;
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? ms : undefined;
}

export function selectedStates(query: URLSearchParams): JobState[] {
  const raw = query.get('state');
  if (!raw) return [];
  return raw.split(',').filter((s): s is JobState => (JOB_STATE_NAMES as string[]).includes(s));
}

/** The `GET /jobs` query for the filters in the URL; a preset range counts back from `now`. */
export function jobsApiQuery(query: URLSearchParams, now: number): Query {
  const range = query.get('range');
  const preset = RANGES.find((r) => r.value === range);
  const states = selectedStates(query);
  return {
    state: states.length > 0 ? states : undefined,
    task: query.get('task') ?? undefined,
    queue: query.get('queue') ?? undefined,
    search: query.get('search') ?? undefined,
    createdAfter: preset ? now - preset.ms : range === 'custom' ? localTime(query.get('after')) : undefined,
    createdBefore: range === 'custom' ? localTime(query.get('before')) : undefined,
  };
}

/** The page size asked in the URL (`limit`), or the smallest. */
export function pageLimit(query: URLSearchParams): number {
  const asked = Number(query.get('limit'));
  return (PAGE_SIZES as readonly number[]).includes(asked) ? asked : PAGE_SIZES[0];
}

/** What identifies one read of the jobs page: the URL query without the (page-local) sort. */
export function jobsPageKey(query: URLSearchParams): string {
  const q = new URLSearchParams(query);
  q.delete('sort');
  q.delete('dir');
  return `jobs?${q.toString()}`;
}

/** One page of jobs for the URL query: its filters, cursor and size; sorting is the page's. */
export function loadJobsPage(query: URLSearchParams, signal?: AbortSignal): Promise<JobPage> {
  return api.get<JobPage>(
    '/jobs',
    { ...jobsApiQuery(query, Date.now()), cursor: query.get('cursor'), limit: pageLimit(query) },
    signal,
  );
}
