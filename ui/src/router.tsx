import { type AnchorHTMLAttributes, type MouseEvent, useEffect, useSyncExternalStore } from 'react';

import { BASE } from './paths';

export { BASE, match } from './paths';

function subscribe(listener: () => void): () => void {
  window.addEventListener('popstate', listener);
  window.addEventListener('stint:navigate', listener);
  return () => {
    window.removeEventListener('popstate', listener);
    window.removeEventListener('stint:navigate', listener);
  };
}

const snapshot = () => window.location.pathname + window.location.search;

/** The app path ("/jobs") and its query, re-rendering on navigation. */
export function useLocation(): { path: string; query: URLSearchParams } {
  const full = useSyncExternalStore(subscribe, snapshot);
  const [pathname = '/', search = ''] = full.split('?');
  const path = pathname.startsWith(BASE) ? pathname.slice(BASE.length) || '/' : pathname;
  return { path, query: new URLSearchParams(search) };
}

export function href(path: string): string {
  return BASE + (path.startsWith('/') ? path : `/${path}`);
}

export function navigate(path: string, options: { replace?: boolean } = {}): void {
  const url = href(path);
  if (url === snapshot()) return;
  if (options.replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  window.dispatchEvent(new Event('stint:navigate'));
}

/** Replaces the query of the current page (filters), keeping the path. */
export function setQuery(query: URLSearchParams, options: { replace?: boolean } = { replace: true }): void {
  const { pathname } = window.location;
  const text = query.toString();
  const path = (pathname.startsWith(BASE) ? pathname.slice(BASE.length) : pathname) || '/';
  navigate(text ? `${path}?${text}` : path, options);
}

type LinkProps = AnchorHTMLAttributes<HTMLAnchorElement> & { to: string };

/** An anchor that navigates inside the app (and still opens in a new tab with a modifier key). */
export function Link({ to, onClick, children, ...rest }: LinkProps) {
  const handle = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
  };
  return (
    <a href={href(to)} onClick={handle} {...rest}>
      {children}
    </a>
  );
}

/** Sets the document title for a page. */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · stint` : 'stint';
  }, [title]);
}
