/**
 * The jobs page over 1,000,000 jobs: the first page must come quickly (the goal is under
 * 500 ms; the figure is logged, the assertion is a loose < 2 s so a busy machine does not flake),
 * and Next must page through with the cursor.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { fillJobs } from './big-store.js';
import { uiFixture } from './fixture.js';
import { USERS, until } from './harness.js';

const ROWS = 1_000_000;
const dir = mkdtempSync(join(tmpdir(), 'stint-ui-big-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ui = uiFixture(async () => {
  const dbPath = join(dir, 'big.db');
  const t0 = Date.now();
  await fillJobs(dbPath, ROWS);
  console.log(`[ui big-table] filled ${ROWS.toLocaleString('en')} jobs in ${Date.now() - t0} ms`);
  return { dbPath, workers: [] };
});

/** The ids of the rows on the page, read from each row's first cell with an id. */
async function rowTexts(page: Page): Promise<string[]> {
  return page.getByRole('table', { name: 'jobs' }).locator('tbody tr').allInnerTexts();
}

describe(`jobs page with ${ROWS.toLocaleString('en')} jobs`, () => {
  it('shows the first page quickly and pages on with Next', { timeout: 90_000 }, async () => {
    const { page, context } = await ui.session();
    // Log in through the API (the cookie lands in this context) so only the jobs page is measured.
    const res = await context.request.post('/api/v1/auth/login', {
      data: { username: 'admin', password: USERS.admin.password },
    });
    expect(res.status()).toBe(200);
    const firstRow = page.getByRole('table', { name: 'jobs' }).locator('tbody tr').first();
    // When the first row was on screen, as the page counts it: the first frame drawn after the row
    // was added (playwright's own polling for the row, counted in the figure above, is not in it).
    // (A script text: this file is typed without the DOM; init scripts are not subject to the CSP.)
    await page.addInitScript({
      content: `{
        const observer = new MutationObserver(() => {
          if (!document.querySelector('table[aria-label="jobs"] tbody tr')) return;
          observer.disconnect();
          requestAnimationFrame(() => requestAnimationFrame(() => { window.rowsPaintedAt = performance.now(); }));
        });
        observer.observe(document, { childList: true, subtree: true });
      }`,
    });

    // How long each API request of the page took, as the browser saw it: names the slow one.
    const apiTimes: string[] = [];
    page.on('requestfinished', (request) => {
      const url = new URL(request.url());
      if (!url.pathname.startsWith('/api/v1/')) return;
      const t = request.timing();
      apiTimes.push(`${url.pathname.slice(7)} ${Math.round(t.responseEnd)} ms`);
    });
    const measure = async (label: string) => {
      apiTimes.length = 0;
      const t0 = Date.now();
      await page.goto('/ui/jobs');
      await firstRow.waitFor();
      const ms = Date.now() - t0;
      // Since the navigation started, as the browser counts it.
      const painted = await until(
        () => page.evaluate(() => (globalThis as { rowsPaintedAt?: number }).rowsPaintedAt),
        'the first row to be painted',
      );
      console.log(
        `[ui big-table] ${label}: first row after ${ms} ms (in page: painted ${Math.round(Number(painted))} ms after the navigation started; API: ${apiTimes.join(', ')})`,
      );
      return ms;
    };
    const cold = await measure('first page, cold (loads the app too)');
    const warm = await measure('first page, warm');

    const first = await rowTexts(page);
    expect(first.length).toBeGreaterThan(0);
    // Newest first: the newest job's id is on the first row.
    expect(first[0]).toMatch(/1,?000,?000/);

    const before = await firstRow.textContent();
    apiTimes.length = 0;
    const t0 = Date.now();
    await page.getByRole('button', { name: /^Next/ }).click();
    await until(async () => (await firstRow.textContent()) !== before, 'the next page');
    console.log(
      `[ui big-table] next page: first row after ${Date.now() - t0} ms (API: ${apiTimes.join(', ')})`,
    );
    const second = await rowTexts(page);
    expect(second.length).toBeGreaterThan(0);
    expect(second.some((row) => first.includes(row))).toBe(false);
    // Timings last, so a slow page still has its paging checked.
    expect(cold).toBeLessThan(2000);
    expect(warm).toBeLessThan(2000);
  });
});
