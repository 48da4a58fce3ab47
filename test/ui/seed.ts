/**
 * Representative data for screenshots: two hours of finished jobs for the throughput chart, then
 * live jobs in every state, a succeeded and a failed (reverted) flow, schedules of each kind, a
 * finished and a running backfill, datasets with partitions, and two workers with capacity in use.
 * Names and inputs are fixed; only the times follow the clock.
 */
import { fillJobs } from './big-store.js';
import { type UiServer, until, type WorkerSpec } from './harness.js';
import { createVirtualMachine, report, ticker } from './tasks.js';

/** Finished jobs written straight into the file before the server starts: one every 6 s for 2 h. */
export async function fillHistory(dbPath: string): Promise<void> {
  await fillJobs(dbPath, 1200, { stepMs: 6000 });
}

export const SEED_WORKERS: WorkerSpec[] = [
  {
    id: 'worker-eu-1',
    queues: ['default', 'reports'],
    capacity: { cpu: 8, memoryMb: 16_384 },
    labels: { zone: 'eu-1' },
    concurrency: 6,
  },
  {
    id: 'worker-eu-2',
    queues: ['default', 'reports'],
    capacity: { cpu: 4, memoryMb: 8192, gpu: 1 },
    labels: { zone: 'eu-2' },
    concurrency: 4,
  },
];

export interface Seeded {
  runningJob: string;
  failedJob: string;
  failedFlow: string;
  succeededFlow: string;
  schedule: string;
}

/** A ticker that runs for minutes: holds its resources while the screenshots are taken. */
const LONG = { lines: 1000, everyMs: 300 };

export async function seed(ui: UiServer): Promise<Seeded> {
  const c = ui.client;

  // Jobs in every state.
  for (const date of ['2026-11-20', '2026-11-21', '2026-11-22'])
    await c.run(report, { date, source: 'warehouse', rows: 1200 }, { timeout: '20s' });
  const failed = await c.submit(report, { date: '2026-11-22', source: 'billing', rows: -1 });
  await failed.result({ timeout: '20s' }).catch(() => undefined);
  const cancelled = await c.submit(ticker, LONG);
  await c.cancel(cancelled.id, 'not needed any more');
  const running = await c.submit(ticker, LONG, { resources: { cpu: 2, memoryMb: 2048 } });
  await c.submit(ticker, LONG, { resources: { cpu: 4, memoryMb: 4096 }, queue: 'reports' });
  await c.submit(ticker, LONG, { resources: { cpu: 1, memoryMb: 1024, gpu: 1 } });
  await c.submit(report, { date: '2026-11-23', source: 'crm' }, { queue: 'ingest' });
  await c.submit(report, { date: '2026-11-24', source: 'crm' }, { queue: 'ingest', priority: 5 });
  await c.submit(report, { date: '2026-11-25', source: 'warehouse' }, { delay: '2h' });

  // Flows: one that works, one whose last step fails so the earlier steps are reverted.
  const good = await c.submitFlow(createVirtualMachine(), {
    store: { cidr: '10.0.0.0/24', image: 'debian-13', diskGb: 20 },
  });
  await good.result({ timeout: '20s' });
  const bad = await c.submitFlow(createVirtualMachine(), {
    store: { cidr: '10.0.1.0/24', image: 'broken', diskGb: 40 },
  });
  await bad.result({ timeout: '20s' }).catch(() => undefined);
  await until(async () => (await bad.get()).state !== 'running', 'the failed flow to end');

  // Schedules of each kind.
  await c.createSchedule({
    name: 'nightly-report',
    description: 'The warehouse report for the day before, at 02:00 Berlin time',
    task: report,
    input: { date: '{{ date }}', source: 'warehouse' },
    trigger: { cron: '0 0 2 * * *', timezone: 'Europe/Berlin' },
    misfire: 'fire_once',
    overlap: 'skip',
  });
  await c.createSchedule({
    name: 'hourly-sync',
    description: 'Pulls changed users from the CRM',
    task: ticker,
    input: LONG,
    trigger: { every: '1h' },
    overlap: 'skip',
  });
  await c.createSchedule({
    name: 'report-when-ready',
    task: report,
    input: { date: '{{ partition }}', source: 'events' },
    trigger: { datasets: ['raw_events', 'users'] },
  });
  await c.createSchedule({
    name: 'vm-canary',
    description: 'Creates a VM every night to check the cloud still works',
    flow: createVirtualMachine(),
    flowStore: { cidr: '10.0.9.0/24', image: 'debian-13', diskGb: 10 },
    trigger: { cron: '0 30 3 * * *', timezone: 'UTC' },
  });
  await c.createSchedule({
    name: 'year-end-close',
    task: report,
    input: { date: '2026-12-31', source: 'ledger' },
    trigger: { once: '2026-12-31T23:00:00Z' },
  });
  await c.createSchedule({
    name: 'weekly-cleanup',
    task: report,
    input: { date: '{{ date }}', source: 'tmp' },
    trigger: { cron: '0 0 4 * * 0', timezone: 'UTC' },
    paused: true,
  });

  // Datasets: both inputs there for two days, one of them for a third.
  for (const p of ['2026-11-20', '2026-11-21', '2026-11-22'])
    await c.markAvailable('raw_events', p, { rows: 18_400 });
  for (const p of ['2026-11-21', '2026-11-22']) await c.markAvailable('users', p, { rows: 1200 });
  await until(
    async () => (await c.scheduleRuns('report-when-ready')).runs.length >= 2,
    'the dataset schedule to fire',
  );

  // Backfills: a finished one, and one still running (its runs are long tickers).
  const done = await c.backfill('nightly-report', {
    from: '2026-11-01T00:00:00Z',
    to: '2026-11-06T23:59:59Z',
    concurrency: 2,
  });
  await until(
    async () => (await c.getBackfill(done.id)).state !== 'running',
    'the backfill to finish',
    30_000,
  );
  const now = Date.now();
  await c.backfill('hourly-sync', { from: now - 12 * 3_600_000, to: now - 1, concurrency: 1 });

  // Everything that should be running is.
  await until(async () => (await running.get()).state === 'running', 'the long job to start');
  return {
    runningJob: running.id,
    failedJob: failed.id,
    failedFlow: bad.id,
    succeededFlow: good.id,
    schedule: 'nightly-report',
  };
}
