import type { Locator, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { uiFixture } from './fixture.js';
import { settled, until } from './harness.js';
import { createVirtualMachine, ticker } from './tasks.js';

const ui = uiFixture();

/** The number of lines in a job's logs region. */
async function logLines(logs: Locator): Promise<number> {
  return logs.getByText(/^tick \d+ of \d+/).count();
}

/** The job page's state badge text (the heading holds the task name and the state). */
async function jobState(page: Page): Promise<string> {
  return (await page.getByRole('heading', { level: 1 }).locator('.badge').first().innerText()).trim();
}

describe('admin', () => {
  it('creates a schedule through the form, runs it now, follows its logs live and cancels the job', {
    timeout: 120_000,
  }, async () => {
    const s = await ui.session('admin');
    const { page } = s;
    // The preview of an invalid expression answers 400; the browser logs that as an error.
    s.allow(/status of 400 \(Bad Request\) \(.*\/api\/v1\/schedules\/preview\)/);
    await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Schedules' }).click();
    await page.getByRole('button', { name: 'New schedule' }).click();

    await page.getByRole('textbox', { name: 'Name', exact: true }).fill('ui-ticker');
    await page.getByRole('combobox', { name: 'Task', exact: true }).selectOption('ticker');
    // The input form comes from the task's JSON Schema.
    await page.getByRole('spinbutton', { name: /lines/ }).fill('200');
    await page.getByRole('spinbutton', { name: /everyMs/ }).fill('300');
    await page.getByRole('combobox', { name: /^Trigger( kind)?$/ }).selectOption('cron');
    const cron = page.getByRole('textbox', { name: 'Cron expression' });
    const preview = page.getByRole('list', { name: 'next fire times' });

    // An invalid expression shows its error instead of fire times.
    await cron.fill('61 * * * *');
    await expect.poll(() => cron.getAttribute('aria-invalid'), { timeout: 15_000 }).toBe('true');
    await expect.poll(() => preview.count()).toBe(0);

    // A valid one previews the next 5 fire times as it is typed.
    await cron.fill('0 3 * * *');
    await preview.waitFor();
    await expect.poll(() => preview.getByRole('listitem').count(), { timeout: 15_000 }).toBe(5);
    expect(await preview.getByRole('listitem').first().innerText()).toMatch(/03:00/);

    await page.getByRole('button', { name: 'Create schedule' }).click();
    await page.getByRole('heading', { name: /ui-ticker/, level: 1 }).waitFor();
    expect((await ui.ui.client.getSchedule('ui-ticker')).trigger).toMatchObject({ type: 'cron' });

    // Run now: the run's job shows up under Runs; open it.
    await page.getByRole('button', { name: 'Run now', exact: true }).click();
    const jobLink = page.getByRole('link', { name: /^job \d+$/ }).first();
    await jobLink.waitFor();
    const jobId = (await jobLink.innerText()).replace('job ', '');
    await jobLink.click();
    await page.waitForURL(`**/ui/jobs/${jobId}`);

    // The logs region grows while the job runs (a line every 300 ms), without reloading the page.
    const logs = page.getByRole('log', { name: 'logs' });
    await logs
      .getByText(/^tick \d+ of 200/)
      .first()
      .waitFor();
    const before = await logLines(logs);
    await until(async () => (await logLines(logs)) >= before + 3, 'new log lines to arrive live');
    expect(await jobState(page)).toBe('running');

    // Cancel it from its page: a confirm dialog, then the state becomes cancelled.
    await page.getByRole('main').getByRole('button', { name: 'Cancel', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Cancel', exact: true }).click();
    await until(async () => (await jobState(page)) === 'cancelled', 'the job page to show it cancelled');
    expect((await ui.ui.client.get(jobId)).state).toBe('cancelled');
    // A finished job offers Retry instead of Cancel.
    await page.getByRole('button', { name: 'Retry' }).waitFor();
    expect(await page.getByRole('main').getByRole('button', { name: 'Cancel', exact: true }).count()).toBe(0);
    await ui.ui.client.deleteSchedule('ui-ticker');
  });

  it('shows a failed flow as a graph with its reverted steps', { timeout: 60_000 }, async () => {
    const flow = await ui.ui.client.submitFlow(createVirtualMachine(), {
      store: { cidr: '10.0.1.0/24', image: 'broken', diskGb: 40 },
    });
    await flow.result({ timeout: '30s' }).catch(() => undefined);
    await until(async () => (await flow.get()).state !== 'running', 'the flow to end');
    const { steps } = await flow.status();
    expect(steps.filter((s) => s.state === 'reverted').map((s) => s.name)).toHaveLength(3);

    const { page } = await ui.session('admin');
    await page.goto(`/ui/flows/${flow.id}`);
    await settled(page);
    for (const name of ['createNetwork', 'allocateIp', 'attachDisk'])
      await page.getByLabel(`step ${name}: reverted`, { exact: true }).waitFor();
    await page.getByLabel('step bootVm: failed', { exact: true }).waitFor();
    // Clicking a step opens its job.
    await page.getByLabel('step bootVm: failed', { exact: true }).click();
    await page.waitForURL(/\/ui\/jobs\/\d+$/);
    await page.getByRole('heading', { name: /bootVm/, level: 1 }).waitFor();
  });

  it('sees mutating buttons a viewer does not (the role check is not vacuous)', {
    timeout: 60_000,
  }, async () => {
    const job = await ui.ui.client.submit(ticker, { lines: 200, everyMs: 300 });
    const { page } = await ui.session('admin');
    await page.goto(`/ui/jobs/${job.id}`);
    await page.getByRole('main').getByRole('button', { name: 'Cancel', exact: true }).waitFor();
    await page.goto('/ui/schedules');
    await page.getByRole('button', { name: 'New schedule' }).waitFor();
    await job.cancel();
  });
});
