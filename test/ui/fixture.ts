/**
 * vitest wiring of the harness: one server, worker and browser per test file; a fresh browser
 * context per test, whose console and page errors fail that test.
 */
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll } from 'vitest';
import {
  launchBrowser,
  login,
  openPage,
  type PageSession,
  startUiServer,
  type UiServer,
  type UiServerOptions,
  type UserName,
} from './harness.js';

export interface UiFixture {
  /** The running server (set once beforeAll has run). */
  readonly ui: UiServer;
  /** A new context and page; when `user` is given, logged in through the login page. */
  session(user?: UserName, options?: Parameters<typeof openPage>[2]): Promise<PageSession>;
}

/** Starts the server and browser for this test file; sessions opened in a test are checked after it. */
export function uiFixture(options: UiServerOptions | (() => Promise<UiServerOptions>) = {}): UiFixture {
  let ui: UiServer | null = null;
  let browser: Browser | null = null;
  let open: PageSession[] = [];

  beforeAll(async () => {
    // Both prerequisites are checked before any work: a missing one fails with what to install.
    browser = await launchBrowser();
    ui = await startUiServer(typeof options === 'function' ? await options() : options);
  }, 120_000);

  afterEach(async () => {
    const sessions = open;
    open = [];
    const failures: string[] = [];
    for (const s of sessions) {
      try {
        await s.close();
      } catch (err) {
        failures.push(err instanceof Error ? err.message : String(err));
      }
    }
    if (failures.length > 0) throw new Error(failures.join('\n'));
  });

  afterAll(async () => {
    try {
      await browser?.close();
    } finally {
      await ui?.close();
    }
  }, 60_000);

  return {
    get ui() {
      if (!ui) throw new Error('the UI server is not started (beforeAll failed?)');
      return ui;
    },
    async session(user, pageOptions) {
      if (!browser || !ui) throw new Error('the browser is not started (beforeAll failed?)');
      const s = await openPage(browser, ui.url, pageOptions);
      open.push(s);
      if (user) await login(s.page, user);
      return s;
    },
  };
}
