// Schedules: a nightly report on a cron in a time zone, a run as soon as its input datasets are
// there, and a backfill. Run with `npx tsx examples/schedules.ts [database]`.
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { createClient, createWorker, defineTask } from '../src/index.js';

// #region task
export const dailyReport = defineTask({
  name: 'dailyReport',
  input: z.object({ date: z.string().date(), source: z.string() }),
  run: (ctx, { date, source }) => {
    ctx.log.info(`building the ${source} report for ${date}`);
    return { date, rows: 42 };
  },
});
// #endregion task

async function main(database: string) {
  // Every worker also runs the coordinator (the lease in the store picks one): schedules fire there.
  const worker = createWorker({ store: database, tasks: [dailyReport] });
  const client = createClient({ store: database, tasks: [dailyReport] });
  await worker.start();

  // #region cron
  const nightly = await client.createSchedule({
    name: 'nightly-report',
    task: dailyReport,
    input: { date: '{{ date }}', source: 'warehouse' },
    trigger: { cron: '0 0 2 * * *', timezone: 'Europe/Berlin' },
    misfire: 'fire_once', // after downtime: one run for what was missed, not one per night
    overlap: 'skip', // a night that is still running when the next starts: skip the next
  });
  console.log(
    'next',
    nightly.nextFireTimes.slice(0, 2).map((t) => new Date(t).toISOString()),
  );
  // #endregion cron

  // #region datasets
  await client.createSchedule({
    name: 'report-when-ready',
    task: dailyReport,
    input: { date: '{{ partition }}', source: 'events' },
    trigger: { datasets: ['raw_events', 'users'] },
  });
  await client.markAvailable('raw_events', '2026-11-22');
  await client.markAvailable('users', '2026-11-22', { rows: 1200 }); // both there: one run for 2026-11-22
  // #endregion datasets

  let triggered = null;
  for (let i = 0; i < 100 && !triggered; i++) {
    triggered = (await client.scheduleRuns('report-when-ready')).runs[0] ?? null;
    if (!triggered) await new Promise((r) => setTimeout(r, 100));
  }
  if (!triggered?.jobId) throw new Error('the dataset schedule did not fire within 10 s');
  console.log('partition', triggered.partition, await client.job(triggered.jobId).result({ timeout: '10s' }));

  // #region backfill
  const backfill = await client.backfill('nightly-report', {
    from: '2026-11-01T00:00:00Z',
    to: '2026-11-03T23:59:59Z',
    concurrency: 2, // at most 2 of its runs at once
  });
  // #endregion backfill

  let progress = backfill;
  for (let i = 0; i < 150 && progress.state === 'running'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    progress = await client.getBackfill(backfill.id);
  }
  console.log('backfill', progress.state, progress.created, 'of', progress.total);

  await client.deleteSchedule('nightly-report');
  await worker.close();
  await client.close();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href)
  await main(process.argv[2] ?? '.stint/schedules.db');
