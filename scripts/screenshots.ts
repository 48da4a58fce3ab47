/**
 * Screenshots of every page of the web UI, in the light and dark themes at 1280×800 and of the
 * overview and jobs pages at 390×844 (a phone), over representative data (test/ui/seed.ts).
 *   npm run screenshots [-- <dir>]     writes <dir>/<page>-<theme>.png (default docs/screenshots),
 *                                      and <page>-phone-<theme>.png at phone width
 * Needs the built UI (npm run build) and Debian's chromium at /usr/bin/chromium. The browser tests
 * run the same code into a temp directory (test/ui/screenshots.test.ts), so a broken page fails them.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import {
  launchBrowser,
  login,
  nextFrames,
  openPage,
  type PageSession,
  settled,
  startUiServer,
} from '../test/ui/harness.js';
import { fillHistory, SEED_WORKERS, type Seeded, seed } from '../test/ui/seed.js';

type Theme = 'light' | 'dark';

interface Shot {
  name: string;
  path: (s: Seeded) => string;
  /** Resolves when the page shows its data. */
  ready: (page: Page) => Promise<void>;
  /** Also at phone width. */
  phone?: boolean;
}

const heading = (page: Page) => page.getByRole('heading', { level: 1 }).first().waitFor();

const SHOTS: Shot[] = [
  { name: 'overview', path: () => '/ui/', phone: true, ready: heading },
  {
    name: 'jobs',
    path: () => '/ui/jobs',
    phone: true,
    ready: (page) => page.getByRole('table', { name: 'jobs' }).locator('tbody tr').first().waitFor(),
  },
  {
    name: 'job',
    path: (s) => `/ui/jobs/${s.runningJob}`,
    ready: (page) =>
      page
        .getByRole('log', { name: 'logs' })
        .getByText(/tick \d+/)
        .first()
        .waitFor(),
  },
  { name: 'job-failed', path: (s) => `/ui/jobs/${s.failedJob}`, ready: heading },
  {
    name: 'flow',
    path: (s) => `/ui/flows/${s.failedFlow}`,
    ready: (page) =>
      page
        .getByLabel(/^step .*: reverted$/)
        .first()
        .waitFor(),
  },
  { name: 'flows', path: () => '/ui/flows', ready: heading },
  {
    name: 'schedules',
    path: () => '/ui/schedules',
    ready: (page) => page.getByRole('link', { name: 'nightly-report' }).waitFor(),
  },
  {
    name: 'schedule',
    path: (s) => `/ui/schedules/${s.schedule}`,
    ready: (page) => page.getByRole('heading', { name: /nightly-report/, level: 1 }).waitFor(),
  },
  {
    name: 'schedule-form',
    path: (s) => `/ui/schedules/${s.schedule}/edit`,
    ready: (page) => page.getByRole('list', { name: 'next fire times' }).locator('li').first().waitFor(),
  },
  {
    name: 'datasets',
    path: () => '/ui/datasets',
    // Open the first dataset: its partitions and the runs they triggered.
    ready: async (page) => {
      await page.getByRole('button', { name: 'raw_events' }).click();
      await page.getByText('2026-11-22').first().waitFor();
    },
  },
  {
    name: 'workers',
    path: () => '/ui/workers',
    ready: (page) => page.getByText('worker-eu-2').first().waitFor(),
  },
];

export interface ScreenshotOptions {
  /** Called with each file written. */
  onShot?: (file: string) => void;
  /** Only these pages (names as in the file names: overview, jobs, job, ...). */
  only?: string[];
}

async function shoot(session: PageSession, shot: Shot, seeded: Seeded, file: string): Promise<void> {
  const { page } = session;
  await page.goto(shot.path(seeded));
  await shot.ready(page);
  await settled(page);
  // Live pages keep changing; fonts and layout have settled once the page is idle for a frame.
  await nextFrames(page);
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled', caret: 'hide' });
}

/** Seeds a store, starts a server and writes the screenshots into `outDir`; returns the files. */
export async function takeScreenshots(outDir: string, options: ScreenshotOptions = {}): Promise<string[]> {
  mkdirSync(outDir, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'stint-shots-'));
  const files: string[] = [];
  let browser: Browser | null = null;
  try {
    const dbPath = join(dir, 'shots.db');
    await fillHistory(dbPath);
    browser = await launchBrowser();
    const ui = await startUiServer({ dbPath, workers: SEED_WORKERS });
    try {
      const seeded = await seed(ui);
      const shots = SHOTS.filter((s) => !options.only || options.only.includes(s.name));
      const write = async (session: PageSession, shot: Shot, name: string) => {
        const file = join(outDir, `${name}.png`);
        await shoot(session, shot, seeded, file);
        files.push(file);
        options.onShot?.(file);
      };
      for (const theme of ['light', 'dark'] as Theme[]) {
        const session = await openPage(browser, ui.url, { colorScheme: theme });
        try {
          if (!options.only || options.only.includes('login')) {
            await session.page.goto('/ui/login');
            await session.page.getByRole('button', { name: 'Log in' }).waitFor();
            const file = join(outDir, `login-${theme}.png`);
            await session.page.screenshot({
              path: file,
              fullPage: true,
              animations: 'disabled',
              caret: 'hide',
            });
            files.push(file);
            options.onShot?.(file);
          }
          await login(session.page, 'admin');
          for (const shot of shots) await write(session, shot, `${shot.name}-${theme}`);
        } finally {
          await session.close();
        }
        const phone = await openPage(browser, ui.url, {
          colorScheme: theme,
          viewport: { width: 390, height: 844 },
        });
        try {
          await login(phone.page, 'admin');
          for (const shot of shots.filter((s) => s.phone))
            await write(phone, shot, `${shot.name}-phone-${theme}`);
        } finally {
          await phone.close();
        }
      }
    } finally {
      await ui.close();
    }
  } finally {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return files;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const outDir = process.argv[2] ?? fileURLToPath(new URL('../docs/screenshots/', import.meta.url));
  const files = await takeScreenshots(outDir, { onShot: (file) => console.log(`wrote ${file}`) });
  console.log(`${files.length} screenshots in ${outDir}`);
}
