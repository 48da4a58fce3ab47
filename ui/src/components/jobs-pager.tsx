import { useEffect, useState } from 'react';
import { plural } from '../format';
import { PAGE_SIZES, pageLimit } from '../jobs-query';
import { setQuery } from '../router';
import { Button } from './ui';

export { PAGE_SIZES } from '../jobs-query';

/** The current URL query, copied so a change can be made to it. */
export function currentQuery(): URLSearchParams {
  return new URLSearchParams(window.location.search);
}

/** Sets (or, for an empty value, removes) one filter of the URL query and goes back to the first page. */
export function setFilter(key: string, value: string | readonly string[] | null): void {
  const query = currentQuery();
  const text = Array.isArray(value) ? value.join(',') : (value as string | null);
  if (text) query.set(key, text);
  else query.delete(key);
  query.delete('cursor');
  setQuery(query);
}

export interface CursorPages {
  /** The cursor of the page shown (null: the first page, the newest). */
  cursor: string | null;
  limit: number;
  /** 1-based, as far as this tab knows (a page opened from a shared link counts from there). */
  page: number;
  next(nextCursor: string): void;
  previous(): void;
  first(): void;
  setLimit(limit: number): void;
}

/**
 * Cursor pagination kept in the URL (`cursor`, `limit`); the cursors of the pages before are a stack
 * in this tab, so Previous goes back one page without counting anything on the server.
 */
export function useCursorPages(query: URLSearchParams): CursorPages {
  const cursor = query.get('cursor');
  const limit = pageLimit(query);
  const [stack, setStack] = useState<(string | null)[]>([]);
  useEffect(() => {
    if (!cursor) setStack([]);
  }, [cursor]);
  const go = (to: string | null) => {
    const q = currentQuery();
    if (to) q.set('cursor', to);
    else q.delete('cursor');
    setQuery(q);
  };
  return {
    cursor,
    limit,
    page: stack.length + 1,
    next(nextCursor) {
      setStack((s) => [...s, cursor]);
      go(nextCursor);
    },
    previous() {
      const before = stack.length > 0 ? (stack[stack.length - 1] ?? null) : null;
      setStack((s) => s.slice(0, -1));
      go(before);
    },
    first() {
      setStack([]);
      go(null);
    },
    setLimit(size) {
      const q = currentQuery();
      if (size === PAGE_SIZES[0]) q.delete('limit');
      else q.set('limit', String(size));
      q.delete('cursor');
      setQuery(q);
    },
  };
}

/** Previous / Next buttons and the page size, under a table. */
export function Pager({
  pages,
  nextCursor,
  shown,
  label,
}: {
  pages: CursorPages;
  nextCursor: string | null | undefined;
  shown: number;
  /** What the rows are, plural: "jobs", "flows". */
  label: string;
}) {
  return (
    <nav className="jobs-pager" aria-label={`${label} pages`}>
      <div className="jobs-pager-buttons">
        {pages.page > 2 && <Button onClick={pages.first}>Newest</Button>}
        <Button onClick={pages.previous} disabled={!pages.cursor}>
          ← Previous
        </Button>
        <span className="muted small" aria-live="polite">
          Page {pages.page} · {plural(shown, label.replace(/s$/, ''), label)}
        </span>
        <Button onClick={() => nextCursor && pages.next(nextCursor)} disabled={!nextCursor}>
          Next →
        </Button>
      </div>
      <label className="inline">
        Per page
        <select value={pages.limit} onChange={(e) => pages.setLimit(Number(e.target.value))}>
          {PAGE_SIZES.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </label>
    </nav>
  );
}
