import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { uiFixture } from './fixture.js';
import { ticker } from './tasks.js';

const ui = uiFixture();

/** Buttons and links that change something; a viewer must see none of them. */
const MUTATING =
  /^(Cancel|Retry|Pause|Resume|Run now|Delete|Edit|New schedule|Create schedule|Start backfill|Mark available|Cancel selected|Retry selected)\b/;

/** The accessible names of the visible buttons and links of the page's main area. */
async function actions(page: Page): Promise<string[]> {
  const main = page.getByRole('main');
  const names: string[] = [];
  for (const role of ['button', 'link'] as const) {
    for (const el of await main.getByRole(role).all()) {
      if (await el.isVisible())
        names.push(((await el.getAttribute('aria-label')) ?? (await el.innerText())).trim());
    }
  }
  return names;
}

/** Status of a request made by the page itself, with its session cookie. */
async function fetchStatus(page: Page, path: string, headers: Record<string, string>): Promise<number> {
  return page.evaluate(async ({ path, headers }) => (await fetch(path, { method: 'POST', headers })).status, {
    path,
    headers,
  });
}

describe('viewer', () => {
  it('sees no mutating buttons on the jobs, job, schedules and schedule pages', async () => {
    const running = await ui.ui.client.submit(ticker, { lines: 200, everyMs: 300 });
    const failed = await ui.ui.client.submit('report', { date: '2026-11-22', rows: -1 });
    await failed.result().catch(() => undefined);
    await ui.ui.client.createSchedule({
      name: 'viewer-nightly',
      task: 'report',
      input: { date: '{{ date }}' },
      trigger: { cron: '0 0 2 * * *', timezone: 'UTC' },
    });
    const { page } = await ui.session('viewer');

    const pages = [
      { path: '/ui/jobs', ready: page.getByRole('table', { name: 'jobs' }) },
      { path: `/ui/jobs/${running.id}`, ready: page.getByRole('heading', { level: 1 }) },
      { path: `/ui/jobs/${failed.id}`, ready: page.getByRole('heading', { level: 1 }) },
      { path: '/ui/schedules', ready: page.getByText('viewer-nightly').first() },
      { path: '/ui/schedules/viewer-nightly', ready: page.getByRole('heading', { level: 1 }) },
    ];
    for (const { path, ready } of pages) {
      await page.goto(path);
      await ready.waitFor();
      // Let the page's data arrive (buttons appear with it).
      await page.waitForLoadState('networkidle').catch(() => undefined);
      const found = (await actions(page)).filter((name) => MUTATING.test(name));
      expect(found, `mutating actions on ${path}`).toEqual([]);
    }
    await running.cancel();
  });

  it('is refused a forged request, with or without the CSRF header', async () => {
    const job = await ui.ui.client.submit(ticker, { lines: 200, everyMs: 300 });
    const s = await ui.session('viewer');
    // The browser logs each refused request as a console error: expected here.
    s.allow(/status of 403 \(Forbidden\)/);
    const path = `/api/v1/jobs/${job.id}/cancel`;
    expect(await fetchStatus(s.page, path, { 'x-stint-csrf': '1' })).toBe(403);
    expect(await fetchStatus(s.page, path, {})).toBe(403);
    expect(await fetchStatus(s.page, '/api/v1/schedules/nope/run', { 'x-stint-csrf': '1' })).toBe(403);
    expect((await job.get()).cancelRequested).toBe(false);
    await job.cancel();
  });
});

describe('CSRF', () => {
  it('refuses a cookie-session POST without the CSRF header even for an admin', async () => {
    const job = await ui.ui.client.submit(ticker, { lines: 200, everyMs: 300 });
    const s = await ui.session('admin');
    s.allow(/status of 403 \(Forbidden\)/);
    const path = `/api/v1/jobs/${job.id}/cancel`;
    expect(await fetchStatus(s.page, path, {})).toBe(403);
    expect((await job.get()).cancelRequested).toBe(false);
    // With the header the same request goes through: the refusal was the CSRF check.
    expect(await fetchStatus(s.page, path, { 'x-stint-csrf': '1' })).toBe(200);
    expect((await job.get()).state === 'cancelled' || (await job.get()).cancelRequested).toBe(true);
  });
});
