/** App paths without React: the router uses these, and so does the app's first code (opening.ts). */

/** The UI lives under /ui/; paths inside the app are written without it ("/jobs/42"). */
export const BASE = '/ui';

/** The app path of a URL path ("/ui/jobs" → "/jobs"). */
export function appPath(pathname: string): string {
  return pathname.startsWith(BASE) ? pathname.slice(BASE.length) || '/' : pathname;
}

/** Matches "/jobs/:id" against a path; returns the parameters or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/').filter(Boolean);
  const have = path.split('/').filter(Boolean);
  if (want.length !== have.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const h = have[i]!;
    if (w.startsWith(':')) params[w.slice(1)] = decodeURIComponent(h);
    else if (w !== h) return null;
  }
  return params;
}
