import {
  Component,
  type ComponentType,
  lazy,
  type ReactNode,
  Suspense,
  useCallback,
  useEffect,
  useState,
} from 'react';
import { ApiError, api, onUnauthenticated } from './api';
import { AuthContext } from './auth';
import { ErrorBox, Loading } from './components/ui';
import { ME, openingRoute, type PageName, ROUTES } from './opening';
import { LoginPage } from './pages/login';
import { allAnswered, dropPrefetched, take } from './prefetch';
import { Link, match, useLocation } from './router';
import type { Principal } from './types';

/** Each page's code is its own chunk, loaded when the page is first needed. */
const PAGES = {
  overview: () => import('./pages/overview').then((m) => m.OverviewPage),
  jobs: () => import('./pages/jobs').then((m) => m.JobsPage),
  job: () => import('./pages/job').then((m) => m.JobPage),
  flows: () => import('./pages/flows').then((m) => m.FlowsPage),
  flow: () => import('./pages/flow').then((m) => m.FlowPage),
  schedules: () => import('./pages/schedules').then((m) => m.SchedulesPage),
  schedule: () => import('./pages/schedule').then((m) => m.SchedulePage),
  scheduleEdit: () => import('./pages/schedule-edit').then((m) => m.ScheduleEditPage),
  datasets: () => import('./pages/datasets').then((m) => m.DatasetsPage),
  workers: () => import('./pages/workers').then((m) => m.WorkersPage),
} satisfies Record<PageName, () => Promise<unknown>>;

const loading = new Map<PageName, Promise<unknown>>();
const loaded = new Map<PageName, unknown>();

/** Loads a page's code (once; a failed load is tried again by the next call). */
function loadPage(name: PageName): Promise<unknown> {
  let promise = loading.get(name);
  if (!promise) {
    promise = PAGES[name]().then(
      (component) => {
        loaded.set(name, component);
        return component;
      },
      (err: unknown) => {
        loading.delete(name);
        throw err;
      },
    );
    loading.set(name, promise);
  }
  return promise;
}

/** Loads every page's code (after the first page is up), so moving between them never waits. */
function preloadPages(): void {
  for (const name of Object.keys(PAGES) as PageName[]) loadPage(name).catch(() => undefined);
}

// The opened page's code starts loading with the app's, not after the first render. Resolves when
// it is in (or failed to load: the page then shows that when it renders and loads again).
const opened = (() => {
  const route = openingRoute();
  return route ? loadPage(route.page).catch(() => undefined) : Promise.resolve();
})();

/**
 * A page whose code is its own chunk. One whose code is in already renders at once; only one that
 * is not suspends (React.lazy), showing the Loading state meanwhile.
 */
function lazyPage<P extends object = Record<string, never>>(name: PageName) {
  const Suspending = lazy(() =>
    loadPage(name).then((component) => ({ default: component as ComponentType<P> })),
  );
  return function LazyPage(props: P) {
    // Decided once per mount: switching from the lazy wrapper to the page would remount it.
    const [Ready] = useState(() => loaded.get(name) as ComponentType<P> | undefined);
    return Ready ? <Ready {...props} /> : <Suspending {...props} />;
  };
}

const OverviewPage = lazyPage('overview');
const JobsPage = lazyPage('jobs');
const JobPage = lazyPage<{ id: string }>('job');
const FlowsPage = lazyPage('flows');
const FlowPage = lazyPage<{ id: string }>('flow');
const SchedulesPage = lazyPage('schedules');
const SchedulePage = lazyPage<{ name: string }>('schedule');
const ScheduleEditPage = lazyPage<{ name: string | null }>('scheduleEdit');
const DatasetsPage = lazyPage('datasets');
const WorkersPage = lazyPage('workers');

/** How each page of ROUTES (opening.ts) renders, from its path's parameters. */
const VIEWS: { [N in PageName]: (params: Record<string, string>) => ReactNode } = {
  overview: () => <OverviewPage />,
  jobs: () => <JobsPage />,
  job: (p) => <JobPage id={p.id!} />,
  flows: () => <FlowsPage />,
  flow: (p) => <FlowPage id={p.id!} />,
  schedules: () => <SchedulesPage />,
  schedule: (p) => <SchedulePage name={p.name!} />,
  // /schedules/new has no name: a new schedule.
  scheduleEdit: (p) => <ScheduleEditPage name={p.name ?? null} />,
  datasets: () => <DatasetsPage />,
  workers: () => <WorkersPage />,
};

/**
 * A page that failed to render, e.g. its code could not be loaded (the server was upgraded since
 * this tab opened). Another path tries again.
 */
class PageBoundary extends Component<
  { path: string; children: ReactNode },
  { error: Error | null; path: string }
> {
  override state: { error: Error | null; path: string } = { error: null, path: this.props.path };
  static getDerivedStateFromError(error: Error) {
    return { error };
  }
  static getDerivedStateFromProps(props: { path: string }, state: { error: Error | null; path: string }) {
    return props.path === state.path ? null : { error: null, path: props.path };
  }
  override render() {
    const { error } = this.state;
    if (!error) return this.props.children;
    return (
      <>
        <ErrorBox error={error} title="This page failed to load" />
        <p>
          Reload the page; after an upgrade of the server that loads its new version.{' '}
          <Link to="/">Go to the overview</Link>.
        </p>
      </>
    );
  }
}

const NAV: { to: string; label: string }[] = [
  { to: '/', label: 'Overview' },
  { to: '/jobs', label: 'Jobs' },
  { to: '/flows', label: 'Flows' },
  { to: '/schedules', label: 'Schedules' },
  { to: '/datasets', label: 'Datasets' },
  { to: '/workers', label: 'Workers' },
];

function Page({ path }: { path: string }) {
  for (const route of ROUTES) {
    const params = match(route.pattern, path);
    if (params) return <>{VIEWS[route.page](params)}</>;
  }
  return (
    <div className="empty">
      <h1>Not found</h1>
      <p>
        There is no page at <code>{path}</code>. <Link to="/">Go to the overview</Link>.
      </p>
    </div>
  );
}

function Shell({
  principal,
  logout,
  children,
}: {
  principal: Principal;
  logout: () => void;
  children: ReactNode;
}) {
  const { path } = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  // biome-ignore lint/correctness/useExhaustiveDependencies: close the phone menu on navigation
  useEffect(() => setMenuOpen(false), [path]);
  const section = (to: string) => (to === '/' ? path === '/' : path === to || path.startsWith(`${to}/`));
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/" className="brand" aria-label="stint overview">
          stint
        </Link>
        {/* At phone width the navigation and the user sit behind this button (styles.css). */}
        <button
          type="button"
          className="icon-button menu-button"
          aria-expanded={menuOpen}
          aria-controls="main-menu"
          onClick={() => setMenuOpen((o) => !o)}
        >
          <svg viewBox="0 0 16 16" width="18" height="18" aria-hidden="true">
            <path d="M2 4h12M2 8h12M2 12h12" stroke="currentColor" strokeWidth="1.5" />
          </svg>
          <span className="sr-only">menu</span>
        </button>
        <div id="main-menu" className={`menu ${menuOpen ? 'open' : ''}`}>
          <nav className="nav" aria-label="main">
            {NAV.map((item) => (
              <Link key={item.to} to={item.to} aria-current={section(item.to) ? 'page' : undefined}>
                {item.label}
              </Link>
            ))}
          </nav>
          <div className="user">
            <span className="user-name" title={`role: ${principal.role}`}>
              {principal.name} <span className="badge role">{principal.role}</span>
            </span>
            {principal.via === 'session' && (
              <button type="button" className="button plain" onClick={logout}>
                Log out
              </button>
            )}
          </div>
        </div>
      </header>
      {principal.via === 'none' && (
        <div className="banner warn" role="note">
          Authentication is off: anyone who can reach this server is an admin.
        </div>
      )}
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}

/** How long the shell waits for the opened page's first read before showing the page loading. */
const FIRST_READ_WAIT_MS = 300;

export function App() {
  const [principal, setPrincipal] = useState<Principal | null | undefined>(undefined);
  const [error, setError] = useState<ApiError | null>(null);
  const { path } = useLocation();

  const check = useCallback(() => {
    // The first check was started with the app (opening.ts); the shell waits for the opened page's
    // code and first read too (started alongside; a slow read not longer than FIRST_READ_WAIT_MS),
    // so the page shows at once, complete, instead of after a second and a third loading state.
    (take<Principal>(ME) ?? api.get<Principal>('/auth/me'))
      .then((p) => Promise.all([opened, allAnswered(FIRST_READ_WAIT_MS)]).then(() => p))
      .then(
        (p) => {
          setPrincipal(p);
          setError(null);
        },
        (err: unknown) => {
          if (err instanceof ApiError && err.status === 401) {
            dropPrefetched();
            setPrincipal(null);
          } else setError(err instanceof ApiError ? err : new ApiError(0, 'CLIENT', String(err)));
        },
      );
  }, []);
  useEffect(check, [check]);
  const signedIn = Boolean(principal);
  useEffect(() => {
    if (!signedIn) return;
    const timer = setTimeout(preloadPages, 1500);
    return () => clearTimeout(timer);
  }, [signedIn]);
  useEffect(
    () =>
      onUnauthenticated(() => {
        dropPrefetched();
        setPrincipal(null);
      }),
    [],
  );

  const logout = useCallback(() => {
    api.post('/auth/logout').then(
      () => setPrincipal(null),
      (err: unknown) => setError(err instanceof ApiError ? err : new ApiError(0, 'CLIENT', String(err))),
    );
  }, []);

  if (error && principal === undefined)
    return (
      <div className="center">
        <ErrorBox error={error} title="Cannot reach the stint server" />
      </div>
    );
  if (principal === undefined) return <Loading />;
  if (principal === null || path === '/login') return <LoginPage onLogin={setPrincipal} />;
  return (
    <AuthContext.Provider value={{ principal, logout }}>
      <Shell principal={principal} logout={logout}>
        <PageBoundary path={path}>
          <Suspense fallback={<Loading />}>
            <Page path={path} />
          </Suspense>
        </PageBoundary>
      </Shell>
    </AuthContext.Provider>
  );
}
