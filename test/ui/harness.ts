/**
 * Browser-test harness: a stint server with auth on over a temp SQLite store, serving the built UI
 * (dist/ui), a worker running the UI test tasks, and Debian's chromium driven by playwright-core.
 * No vitest imports: scripts/screenshots.ts uses it too.
 *
 * Missing prerequisites fail loudly instead of skipping: the UI must be built (`npm run build`) and
 * chromium installed at /usr/bin/chromium (`apt-get install -y chromium`; .ci/run does it).
 * `STINT_UI_DIR=<dir>` tests another build of the UI than dist/ui.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import {
  type Client,
  createClient,
  createSqliteStore,
  createWorker,
  type Store,
  type Task,
  type Worker,
} from '../../src/index.js';
import { hashPassword } from '../../src/server/auth-crypto.js';
import { createServer, type Server } from '../../src/server/server.js';
import type { AuthRole } from '../../src/store/auth-types.js';
import { uiTasks } from './tasks.js';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

/** The users every harness server has, with their passwords. */
export const USERS = {
  admin: { role: 'admin', password: 'admin password 1' },
  operator: { role: 'operator', password: 'operator password 1' },
  viewer: { role: 'viewer', password: 'viewer password 1' },
} as const satisfies Record<string, { role: AuthRole; password: string }>;
export type UserName = keyof typeof USERS;

/** The built UI to serve: STINT_UI_DIR, else the package's dist/ui. Throws when it is not built. */
export function uiDir(): string {
  const dir = process.env.STINT_UI_DIR ?? fileURLToPath(new URL('../../dist/ui/', import.meta.url));
  if (!existsSync(join(dir, 'index.html')))
    throw new Error(`the web UI is not built (no ${join(dir, 'index.html')}): run npm run build first`);
  return dir;
}

/** Launches Debian's chromium headless; throws (the test fails) when it is not installed. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `chromium is not installed at ${CHROMIUM}: run apt-get install -y chromium (.ci/run installs it when missing)`,
    );
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

export interface UiServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  store: Store;
  client: Client;
  server: Server;
  /** The workers started (none with `workers: []`). */
  workers: Worker[];
  /** The temp directory holding the database (removed by close()). */
  dir: string;
  close(): Promise<void>;
}

export interface WorkerSpec {
  /** @default the UI test tasks */
  tasks?: readonly Task[];
  id?: string;
  queues?: string[];
  capacity?: Record<string, number>;
  labels?: Record<string, string>;
  /** @default 4 */
  concurrency?: number;
}

export interface UiServerOptions {
  /** Use this database file (already filled) instead of a fresh one; it is not removed. */
  dbPath?: string;
  /** Workers to start. @default one worker running the UI test tasks */
  workers?: WorkerSpec[];
  /** @default 0 (a free port) */
  port?: number;
}

/** Starts a server (auth on, users admin/operator/viewer) and a worker on a temp SQLite store. */
export async function startUiServer(options: UiServerOptions = {}): Promise<UiServer> {
  const ui = uiDir();
  const dir = mkdtempSync(join(tmpdir(), 'stint-ui-'));
  const store = createSqliteStore({ path: options.dbPath ?? join(dir, 'ui.db') });
  const client = createClient({ store });
  let server: Server | null = null;
  const workers: Worker[] = [];
  const close = async () => {
    try {
      for (const w of workers) await w.close();
      await server?.close();
      await client.close();
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    for (const [username, { role, password }] of Object.entries(USERS))
      await store.insertUser({ username, role, passwordHash: await hashPassword(password), now: Date.now() });
    server = createServer({
      store,
      port: options.port ?? 0,
      auth: { mode: 'on' },
      logger: false,
      ui: { dir: ui },
    });
    const url = await server.listen();
    for (const w of options.workers ?? [{}]) {
      const worker = createWorker({
        store,
        tasks: w.tasks ?? uiTasks,
        concurrency: w.concurrency ?? 4,
        pollInterval: '200ms',
        logFlushInterval: '50ms',
        // A test that failed midway may leave a slow job running: hand it back quickly.
        shutdownTimeout: '1s',
        ...(w.id ? { id: w.id } : {}),
        ...(w.queues ? { queues: w.queues } : {}),
        ...(w.capacity ? { capacity: w.capacity } : {}),
        ...(w.labels ? { labels: w.labels } : {}),
        ...(server.metrics ? { metrics: server.metrics } : {}),
      });
      workers.push(worker);
      await worker.start();
    }
    return { url, store, client, server, workers, dir, close };
  } catch (err) {
    await close();
    throw err;
  }
}

export interface PageSession {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught page errors seen so far (after `allow` filtering). */
  errors: string[];
  /** Console errors matching this are expected (e.g. the 403 of a forged request). */
  allow(pattern: RegExp): void;
  /** Throws when the page logged errors; closes the context. */
  close(): Promise<void>;
}

/**
 * The login gate asks /auth/me before anyone logged in: Chromium logs that 401 as a console
 * error, though nothing is wrong.
 */
const ALWAYS_ALLOWED = [/status of 401 \(Unauthorized\)/];

/** A fresh browser context (own cookies and storage) with one page, collecting its errors. */
export async function openPage(
  browser: Browser,
  baseURL: string,
  options: { colorScheme?: 'light' | 'dark'; viewport?: { width: number; height: number } } = {},
): Promise<PageSession> {
  const context = await browser.newContext({
    baseURL,
    colorScheme: options.colorScheme ?? 'light',
    viewport: options.viewport ?? { width: 1280, height: 800 },
    reducedMotion: 'reduce',
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const allowed = [...ALWAYS_ALLOWED];
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const text = `${message.text()} (${message.location().url})`;
    if (!allowed.some((p) => p.test(text))) errors.push(`console error: ${text}`);
  });
  page.on('pageerror', (error) => errors.push(`page error: ${error.stack ?? error.message}`));
  return {
    context,
    page,
    errors,
    allow: (pattern) => allowed.push(pattern),
    async close() {
      await context.close();
      if (errors.length > 0) throw new Error(`the page logged errors:\n${errors.join('\n')}`);
    },
  };
}

/** Logs in through the login page and waits for the app's navigation. */
export async function login(page: Page, user: UserName): Promise<void> {
  await page.goto('/ui/');
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(USERS[user].password);
  await page.getByRole('button', { name: 'Log in' }).click();
  // The app's shell (at phone width its navigation hides behind the menu button).
  await page.getByRole('main').waitFor();
}

/** Waits until the page's main area shows no loading indicator. */
export async function settled(page: Page): Promise<void> {
  const loading = page.locator('main .loading');
  await until(async () => (await loading.count()) === 0, 'the page to finish loading');
}

/** Resolves after the page has drawn two more frames. */
export async function nextFrames(page: Page): Promise<void> {
  // A function, not a string: the UI's CSP forbids eval.
  await page.evaluate(
    () =>
      new Promise<void>((resolve) => {
        const raf = (globalThis as unknown as { requestAnimationFrame(cb: () => void): void })
          .requestAnimationFrame;
        raf(() => raf(() => resolve()));
      }),
  );
}

/** Polls `check` until truthy, or throws after `timeoutMs` naming `what`. */
export async function until<T>(check: () => Promise<T> | T, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
