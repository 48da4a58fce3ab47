/**
 * The app's first code, without React: it asks GET /auth/me and starts the opened page's first read
 * at once, before React and the shell are evaluated and rendered (start.ts runs it first), instead
 * of one after the other behind the first render. The app and the page take those answers instead
 * of asking again (prefetch.ts).
 * A missing session still shows the login page: /auth/me answers 401 and the early reads are dropped.
 */
import { api } from './api';
import { jobsPageKey, loadJobsPage } from './jobs-query';
import { appPath, match } from './paths';
import { prefetch } from './prefetch';
import type { Principal } from './types';

/** The pages of the app (app.tsx loads and renders them). */
export type PageName =
  | 'overview'
  | 'jobs'
  | 'job'
  | 'flows'
  | 'flow'
  | 'schedules'
  | 'schedule'
  | 'scheduleEdit'
  | 'datasets'
  | 'workers';

export interface Route {
  pattern: string;
  page: PageName;
  /** Starts the page's first read, for a page opened directly (the page then takes the answer). */
  prefetch?: (query: URLSearchParams) => void;
}

/** Every page of the app (app.tsx renders them); the first match wins. */
export const ROUTES: Route[] = [
  { pattern: '/', page: 'overview' },
  {
    pattern: '/jobs',
    page: 'jobs',
    prefetch: (query) => prefetch(jobsPageKey(query), () => loadJobsPage(query)),
  },
  { pattern: '/jobs/:id', page: 'job' },
  { pattern: '/flows', page: 'flows' },
  { pattern: '/flows/:id', page: 'flow' },
  { pattern: '/schedules', page: 'schedules' },
  { pattern: '/schedules/new', page: 'scheduleEdit' },
  { pattern: '/schedules/:name/edit', page: 'scheduleEdit' },
  { pattern: '/schedules/:name', page: 'schedule' },
  { pattern: '/datasets', page: 'datasets' },
  { pattern: '/workers', page: 'workers' },
];

/** The prefetch key of the first GET /auth/me. */
export const ME = 'auth/me';

let opening: Route | null = null;

/** Called once, first thing: GET /auth/me and the opened page's first read start now, side by side. */
export function startOpening(): void {
  prefetch(ME, () => api.get<Principal>('/auth/me'));
  const path = appPath(window.location.pathname);
  opening = ROUTES.find((r) => match(r.pattern, path)) ?? null;
  opening?.prefetch?.(new URLSearchParams(window.location.search));
}

/** The route of the page the app was opened on (null: none matches). */
export function openingRoute(): Route | null {
  return opening;
}
