import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createWorker, defineTask, PermanentError, systemClock } from '../../src/index.js';
import { authSetup, bearer, STORES } from './auth-helpers.js';
import { closeAfter, quietLogger } from './server-helpers.js';

const greet = defineTask({ name: 'greet', input: z.object({}), run: () => 'hi' });
const broken = defineTask({
  name: 'broken',
  input: z.object({}),
  retry: { maxAttempts: 1 },
  run: () => {
    throw new PermanentError('it broke');
  },
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition format: families by name, with their type and samples. */
function parseExposition(text: string): Map<string, { type: string; samples: Sample[] }> {
  const families = new Map<string, { type: string; samples: Sample[] }>();
  const familyOf = (sample: string) =>
    [...families.keys()].find((f) => sample === f || /^(_bucket|_sum|_count)$/.test(sample.slice(f.length)));
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP')) continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      families.set(type[1] as string, { type: type[2] as string, samples: [] });
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const m of (sample[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[m[1] as string] = m[2] as string;
    const name = sample[1] as string;
    const family = familyOf(name);
    if (!family) throw new Error(`sample ${name} has no # TYPE line`);
    families.get(family)?.samples.push({ name, labels, value: Number(sample[3]) });
  }
  return families;
}

/** The value of the one sample of `name` whose labels include `labels`; 0 when there is none. */
function sampleValue(
  families: ReturnType<typeof parseExposition>,
  name: string,
  labels: Record<string, string> = {},
) {
  for (const family of families.values())
    for (const s of family.samples)
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
  return 0;
}

const FAMILIES = {
  stint_jobs_submitted_total: 'counter',
  stint_jobs_started_total: 'counter',
  stint_jobs_completed_total: 'counter',
  stint_jobs_failed_total: 'counter',
  stint_job_duration_seconds: 'histogram',
  stint_job_wait_seconds: 'histogram',
  stint_queue_depth: 'gauge',
  stint_workers: 'gauge',
  stint_coordinator_leader: 'gauge',
  stint_coordinator_elected: 'gauge',
  stint_schedule_fire_lag_seconds: 'gauge',
};

describe.each(STORES)('/metrics ($kind)', ({ open }) => {
  it('needs the viewer role or the metrics token, which opens nothing else', async () => {
    const s = await authSetup(open, { metricsToken: 'scrape-secret' });
    expect((await s.req('GET', '/metrics')).status).toBe(401);
    expect((await s.req('GET', '/metrics', { headers: bearer('wrong') })).status).toBe(401);
    const viewer = await s.req('GET', '/metrics', { headers: bearer(await s.token('viewer')) });
    expect(viewer.status).toBe(200);
    expect(viewer.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect((await s.req('GET', '/metrics', { headers: bearer('scrape-secret') })).status).toBe(200);
    expect((await s.req('GET', '/api/v1/jobs', { headers: bearer('scrape-secret') })).status).toBe(401);
  });

  it('has every family, and its counters, histograms and gauges move as jobs run', async () => {
    // The worker runs in real time, so the store judges time by the system clock here.
    const s = await authSetup(() => open(systemClock));
    const token = await s.token('operator');
    const scrape = async () => {
      const res = await s.req('GET', '/metrics', { headers: bearer(token) });
      expect(res.status).toBe(200);
      return parseExposition(res.body as string);
    };
    const before = await scrape();
    for (const [name, type] of Object.entries(FAMILIES)) expect(before.get(name)?.type, name).toBe(type);
    expect(sampleValue(before, 'stint_coordinator_elected')).toBe(0);
    expect(sampleValue(before, 'stint_schedule_fire_lag_seconds')).toBe(0);

    for (const task of ['greet', 'greet', 'greet', 'broken'])
      expect((await s.req('POST', '/api/v1/jobs', { body: { task }, headers: bearer(token) })).status).toBe(
        201,
      );
    const queued = await scrape();
    expect(sampleValue(queued, 'stint_jobs_submitted_total', { task: 'greet', queue: 'default' })).toBe(3);
    expect(sampleValue(queued, 'stint_queue_depth', { queue: 'default', state: 'pending' })).toBe(4);
    expect(sampleValue(queued, 'stint_queue_depth', { queue: 'default', state: 'running' })).toBe(0);

    const worker = closeAfter(
      createWorker({
        store: s.store,
        tasks: [greet, broken],
        logger: quietLogger,
        coordinator: false,
        metrics: s.server.metrics ?? undefined,
      }),
    );
    await worker.start();
    await expect
      .poll(async () => (await s.store.listJobs({ state: ['succeeded', 'failed'] })).jobs.length, {
        timeout: 10_000,
      })
      .toBe(4);
    await worker.stop();
    await s.store.acquireLease('coordinator', 'node-a', 60_000);

    const after = await scrape();
    const greetLabels = { task: 'greet', queue: 'default' };
    expect(sampleValue(after, 'stint_jobs_started_total', greetLabels)).toBe(3);
    expect(sampleValue(after, 'stint_jobs_completed_total', greetLabels)).toBe(3);
    expect(
      sampleValue(after, 'stint_job_duration_seconds_count', { ...greetLabels, outcome: 'succeeded' }),
    ).toBe(3);
    expect(sampleValue(after, 'stint_job_wait_seconds_count', greetLabels)).toBe(3);
    expect(sampleValue(after, 'stint_jobs_failed_total', { task: 'broken', will_retry: 'false' })).toBe(1);
    expect(
      sampleValue(after, 'stint_job_duration_seconds_count', { task: 'broken', outcome: 'failed' }),
    ).toBe(1);
    expect(sampleValue(after, 'stint_queue_depth', { queue: 'default', state: 'pending' })).toBe(0);
    expect(sampleValue(after, 'stint_coordinator_leader', { holder: 'node-a' })).toBe(1);
    expect(sampleValue(after, 'stint_coordinator_elected')).toBe(1);
  });

  it('measures schedule fire lag from the store, and keeps a registry per server', async () => {
    const s = await authSetup(open);
    const other = await authSetup(open);
    const token = await s.token('admin');
    const created = await s.req('POST', '/api/v1/schedules', {
      body: { name: 'every-minute', task: 'greet', trigger: { every: '1m' } },
      headers: bearer(token),
    });
    expect(created.status).toBe(201);
    const firstFire = created.body.nextFireTimes[0] as number;
    // No coordinator runs: the schedule falls behind as time passes.
    s.clock.set(firstFire + 90_000);
    const scrape = async (setup: typeof s, t: string) =>
      parseExposition((await setup.req('GET', '/metrics', { headers: bearer(t) })).body as string);
    const lagging = await scrape(s, token);
    expect(sampleValue(lagging, 'stint_schedule_fire_lag_seconds')).toBeCloseTo(90, 0);

    await s.req('POST', '/api/v1/jobs', { body: { task: 'greet' }, headers: bearer(token) });
    expect(sampleValue(await scrape(s, token), 'stint_jobs_submitted_total', { task: 'greet' })).toBe(1);
    const elsewhere = await scrape(other, await other.token('viewer'));
    expect(sampleValue(elsewhere, 'stint_jobs_submitted_total', { task: 'greet' })).toBe(0);
  });
});
