import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { resolveRetry } from '../../src/core/retry.js';
import { createWorker, defineTask, PermanentError, type Store } from '../../src/index.js';
import { closeAfter, counts, quietLogger, setup } from './server-helpers.js';

const greet = defineTask({
  name: 'greet',
  input: z.object({ name: z.string() }),
  run: (ctx, { name }) => {
    ctx.log.info(`hello ${name}`);
    return { greeting: `hi ${name}` };
  },
});
const broken = defineTask({
  name: 'broken',
  input: z.object({}),
  run: () => {
    throw new PermanentError('it broke');
  },
});

/** Registers the tasks as a worker would, so flows naming them can be submitted before one runs. */
async function registerTasks(store: Store) {
  const retry = resolveRetry(undefined);
  await store.registerTasks(
    ['greet', 'broken'].map((name) => ({
      name,
      queue: 'default',
      priority: 0,
      retry,
      timeoutMs: null,
      revertible: false,
    })),
  );
}

function startWorker(store: Store) {
  const worker = closeAfter(
    createWorker({ store, tasks: [greet, broken], concurrency: 2, logger: quietLogger, coordinator: false }),
  );
  return worker.start().then(() => worker);
}

describe('health', () => {
  it('answers /healthz and /readyz, and 503 when the store does not answer', async () => {
    const { req } = await setup();
    expect(await req('GET', '/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await req('GET', '/readyz')).toMatchObject({
      status: 200,
      body: { status: 'ready', store: 'sqlite' },
    });
    const down = await setup({
      wrap: (store) =>
        new Proxy(store, {
          get: (target, key) =>
            key === 'now' ? () => Promise.reject(new Error('down')) : Reflect.get(target, key),
        }),
    });
    const res = await down.req('GET', '/readyz');
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('NOT_READY');
  });
});

describe('jobs', () => {
  it('submits, deduplicates, bulk-submits, gets and lists with filters and cursors', async () => {
    const { req } = await setup();
    const first = await req('POST', '/api/v1/jobs', {
      task: 'greet',
      input: { name: 'Ada' },
      options: { queue: 'q1', dedupKey: 'k', priority: 5, metadata: { team: 'a' } },
    });
    expect(first).toMatchObject({ status: 201, body: { deduplicated: false } });
    const again = await req('POST', '/api/v1/jobs', { task: 'greet', input: {}, options: { dedupKey: 'k' } });
    expect(again).toMatchObject({ status: 200, body: { id: first.body.id, deduplicated: true } });
    const bulk = await req('POST', '/api/v1/jobs/bulk', {
      task: 'other',
      inputs: [{ n: 1 }, { n: 2 }, { n: 3 }],
      options: { runAt: '2030-01-01T00:00:00Z' },
    });
    expect(bulk.status).toBe(201);
    expect(bulk.body.jobs).toHaveLength(3);

    const job = await req('GET', `/api/v1/jobs/${first.body.id}`);
    expect(job.body).toMatchObject({ task: 'greet', queue: 'q1', priority: 5, metadata: { team: 'a' } });
    const delayed = await req('GET', `/api/v1/jobs/${bulk.body.jobs[0].id}`);
    expect(delayed.body.runAt).toBe(Date.parse('2030-01-01T00:00:00Z'));

    expect((await req('GET', '/api/v1/jobs?task=other')).body.jobs).toHaveLength(3);
    expect((await req('GET', '/api/v1/jobs?queue=q1')).body.jobs).toHaveLength(1);
    expect((await req('GET', '/api/v1/jobs?state=pending,running')).body.jobs).toHaveLength(4);
    expect((await req('GET', '/api/v1/jobs?state=failed')).body.jobs).toHaveLength(0);
    const page1 = await req('GET', '/api/v1/jobs?limit=3');
    expect(page1.body.jobs).toHaveLength(3);
    const page2 = await req(
      'GET',
      `/api/v1/jobs?limit=3&cursor=${encodeURIComponent(page1.body.nextCursor)}`,
    );
    expect(page2.body.jobs).toHaveLength(1);
    expect(page2.body.nextCursor).toBeNull();
  });

  it('cancels and retries, with 409 when the state does not allow it, and 404 for unknown ids', async () => {
    const { req } = await setup();
    const { body } = await req('POST', '/api/v1/jobs', { task: 'greet', input: { name: 'x' } });
    const cancelled = await req('POST', `/api/v1/jobs/${body.id}/cancel`, { reason: 'no longer needed' });
    expect(cancelled).toMatchObject({ status: 200, body: { state: 'cancelled' } });
    const twice = await req('POST', `/api/v1/jobs/${body.id}/cancel`);
    expect(twice.status).toBe(409);
    expect(twice.body.error.code).toBe('CONFLICT');
    expect(await req('POST', `/api/v1/jobs/${body.id}/retry`)).toMatchObject({
      status: 200,
      body: { state: 'pending' },
    });
    expect((await req('POST', `/api/v1/jobs/${body.id}/retry`)).status).toBe(409);
    const events = await req('GET', `/api/v1/jobs/${body.id}/events`);
    expect(events.body.events.map((e: { type: string }) => e.type)).toEqual(
      expect.arrayContaining(['created', 'cancelled', 'retried']),
    );
    for (const [method, path] of [
      ['GET', ''],
      ['POST', '/cancel'],
      ['POST', '/retry'],
      ['GET', '/events'],
      ['GET', '/logs'],
      ['GET', '/result?wait=0'],
      ['GET', '/logs/stream'],
    ] as const) {
      const res = await req(method, `/api/v1/jobs/987654${path}`);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body.error).toMatchObject({ code: 'JOB_NOT_FOUND' });
    }
  });

  it('returns logs and the result: 202 while pending, 200 with output or error once finished', async () => {
    const { req, store } = await setup();
    const ok = await req('POST', '/api/v1/jobs', { task: 'greet', input: { name: 'Ada' } });
    const bad = await req('POST', '/api/v1/jobs', { task: 'broken', input: {} });
    const pending = await req('GET', `/api/v1/jobs/${ok.body.id}/result?wait=50ms`);
    expect(pending).toMatchObject({ status: 202, body: { state: 'pending', output: null } });
    await startWorker(store);
    const done = await req('GET', `/api/v1/jobs/${ok.body.id}/result?wait=10s`);
    expect(done).toMatchObject({ status: 200, body: { state: 'succeeded', output: { greeting: 'hi Ada' } } });
    const failed = await req('GET', `/api/v1/jobs/${bad.body.id}/result?wait=10s`);
    expect(failed).toMatchObject({ status: 200, body: { state: 'failed', error: { message: 'it broke' } } });
    const logs = await req('GET', `/api/v1/jobs/${ok.body.id}/logs`);
    expect(logs.body.logs.map((l: { message: string }) => l.message)).toEqual(['hello Ada']);
    const after = await req('GET', `/api/v1/jobs/${ok.body.id}/logs?afterId=${logs.body.logs[0].id}`);
    expect(after.body.logs).toEqual([]);
    const bad400 = await req('GET', `/api/v1/jobs/${ok.body.id}/result?wait=soon`);
    expect(bad400.body.error.details.issues[0]).toMatchObject({ path: 'wait', in: 'query' });
  });
});

describe('flows', () => {
  const spec = {
    name: 'pair',
    steps: [
      { name: 'a', task: 'greet', input: { name: { $ref: 'store.who' } } },
      { name: 'b', task: 'greet', input: { name: 'B' }, after: ['a'] },
    ],
  };

  it('submits a spec, shows step states, lists, logs and runs to the end', async () => {
    const { req, store } = await setup();
    await registerTasks(store);
    const created = await req('POST', '/api/v1/flows', {
      spec,
      options: { store: { who: 'Ada' }, dedupKey: 'f' },
    });
    expect(created).toMatchObject({ status: 201, body: { deduplicated: false } });
    const again = await req('POST', '/api/v1/flows', {
      spec,
      options: { store: { who: 'Ada' }, dedupKey: 'f' },
    });
    expect(again).toMatchObject({ status: 200, body: { id: created.body.id, deduplicated: true } });
    const shown = await req('GET', `/api/v1/flows/${created.body.id}`);
    expect(shown.body.flow).toMatchObject({ name: 'pair', state: 'running' });
    expect(shown.body.steps.map((s: { name: string; state: string }) => [s.name, s.state])).toEqual([
      ['a', 'pending'],
      ['b', 'waiting'],
    ]);
    expect((await req('GET', '/api/v1/flows?state=running&name=pair')).body.flows).toHaveLength(1);
    expect((await req('GET', `/api/v1/jobs?flow=${created.body.id}`)).body.jobs).toHaveLength(1);
    await startWorker(store);
    await expect
      .poll(async () => (await req('GET', `/api/v1/flows/${created.body.id}`)).body.flow.state, {
        timeout: 10_000,
      })
      .toBe('succeeded');
    const logs = await req('GET', `/api/v1/flows/${created.body.id}/logs`);
    expect(logs.body.logs.map((l: { step: string; message: string }) => `${l.step}:${l.message}`)).toEqual([
      'a:hello Ada',
      'b:hello B',
    ]);
    const late = await req('POST', `/api/v1/flows/${created.body.id}/cancel`);
    expect(late.status).toBe(409);
  });

  it('cancels, names the failing spec fields, and answers 404 for unknown flows', async () => {
    const { req, store } = await setup();
    await registerTasks(store);
    const { body } = await req('POST', '/api/v1/flows', { spec, options: { store: { who: 'x' } } });
    const cancelled = await req('POST', `/api/v1/flows/${body.id}/cancel`, { reason: 'stop' });
    expect(cancelled.status).toBe(200);
    expect(['cancelled', 'reverting']).toContain(cancelled.body.state);

    const badRef = await req('POST', '/api/v1/flows', {
      spec: { name: 'f', steps: [{ name: 'a', task: 't', input: { x: { $ref: 'steps.nope.output' } } }] },
    });
    expect(badRef.status).toBe(400);
    expect(badRef.body.error.details.issues[0].path).toBe('spec.steps.0.input.x');
    const badShape = await req('POST', '/api/v1/flows', { spec: { name: 'f', steps: [{ name: 'a' }] } });
    expect(badShape.body.error.details.issues).toContainEqual(
      expect.objectContaining({ path: 'spec.steps.0.task', in: 'body' }),
    );
    const missingStore = await req('POST', '/api/v1/flows', { spec });
    expect(missingStore.status).toBe(400);
    for (const path of ['', '/logs'])
      expect((await req('GET', `/api/v1/flows/55555${path}`)).status).toBe(404);
    expect((await req('POST', '/api/v1/flows/55555/cancel')).body.error.code).toBe('FLOW_NOT_FOUND');
  });
});

describe('schedules, backfills and datasets', () => {
  it('creates, reads, changes, pauses, resumes, runs, previews and deletes schedules', async () => {
    const { req } = await setup();
    const definition = {
      name: 'nightly',
      task: 'greet',
      input: { name: '{{ date }}' },
      trigger: { cron: '0 2 * * *' },
    };
    const created = await req('POST', '/api/v1/schedules', definition);
    expect(created).toMatchObject({ status: 201, body: { name: 'nightly', state: 'active' } });
    expect(created.body.nextFireTimes).toHaveLength(5);
    expect((await req('POST', '/api/v1/schedules', definition)).status).toBe(409);
    expect((await req('GET', '/api/v1/schedules')).body.schedules).toHaveLength(1);
    expect((await req('GET', '/api/v1/schedules?state=paused')).body.schedules).toHaveLength(0);
    expect((await req('GET', '/api/v1/schedules/nightly')).body.trigger).toMatchObject({ type: 'cron' });

    const patched = await req('PATCH', '/api/v1/schedules/nightly', {
      trigger: { every: '1h' },
      overlap: 'skip',
    });
    expect(patched.body).toMatchObject({ trigger: { type: 'interval' }, policies: { overlap: 'skip' } });
    expect((await req('POST', '/api/v1/schedules/nightly/pause')).body.state).toBe('paused');
    expect((await req('POST', '/api/v1/schedules/nightly/pause')).status).toBe(409);
    expect((await req('POST', '/api/v1/schedules/nightly/resume')).body.state).toBe('active');
    const run = await req('POST', '/api/v1/schedules/nightly/run');
    expect(run).toMatchObject({ status: 201, body: { kind: 'now', scheduleName: 'nightly' } });
    expect((await req('GET', '/api/v1/schedules/nightly/runs')).body.runs).toHaveLength(1);
    const events = (await req('GET', '/api/v1/schedules/nightly/events')).body.events;
    expect(events.map((e: { type: string }) => e.type)).toEqual([
      'created',
      'updated',
      'paused',
      'resumed',
      'run_now',
    ]);

    const preview = await req('POST', '/api/v1/schedules/preview', {
      trigger: { every: '1h' },
      count: 3,
      after: '2026-01-01T00:30:00Z',
    });
    expect(preview.body.fireTimes).toEqual(
      [1, 2, 3].map((h) => Date.parse('2026-01-01T00:00:00Z') + h * 3_600_000),
    );
    const badCron = await req('POST', '/api/v1/schedules/preview', { trigger: { cron: 'nope' } });
    expect(badCron.body.error.details.issues[0].path).toBe('trigger.cron');

    expect((await req('DELETE', '/api/v1/schedules/nightly')).status).toBe(204);
    expect((await req('GET', '/api/v1/schedules/nightly')).body.error.code).toBe('SCHEDULE_NOT_FOUND');
    for (const [method, path] of [
      ['PATCH', ''],
      ['DELETE', ''],
      ['POST', '/pause'],
      ['POST', '/resume'],
      ['POST', '/run'],
      ['GET', '/runs'],
      ['GET', '/events'],
      ['POST', '/backfills'],
      ['GET', '/backfills'],
    ] as const) {
      const res = await req(
        method,
        `/api/v1/schedules/nightly${path}`,
        method === 'GET' || method === 'DELETE' ? undefined : {},
      );
      expect(res.status, `${method} ${path}`).toBe(404);
    }
  });

  it('starts, reads, lists and cancels backfills', async () => {
    const { req } = await setup();
    await req('POST', '/api/v1/schedules', {
      name: 'hourly',
      task: 'greet',
      input: {},
      trigger: { every: '1h' },
    });
    const started = await req('POST', '/api/v1/schedules/hourly/backfills', {
      from: '2026-01-01T00:00:00Z',
      to: '2026-01-01T05:00:00Z',
      concurrency: 2,
    });
    expect(started).toMatchObject({ status: 201, body: { state: 'running', total: 6, concurrency: 2 } });
    const id = started.body.id;
    expect((await req('GET', `/api/v1/backfills/${id}`)).body.scheduleName).toBe('hourly');
    expect((await req('GET', '/api/v1/backfills')).body.backfills).toHaveLength(1);
    expect((await req('GET', '/api/v1/backfills?schedule=hourly')).body.backfills).toHaveLength(1);
    expect((await req('GET', '/api/v1/schedules/hourly/backfills')).body.backfills).toHaveLength(1);
    expect((await req('POST', `/api/v1/backfills/${id}/cancel`)).body.state).toBe('cancelled');
    expect((await req('POST', `/api/v1/backfills/${id}/cancel`)).status).toBe(409);
    const empty = await req('POST', '/api/v1/schedules/hourly/backfills', { from: '2026-01-02T00:00:00Z' });
    expect(empty.status).toBe(400);
    expect((await req('GET', '/api/v1/backfills/424242')).body.error.code).toBe('BACKFILL_NOT_FOUND');
    expect((await req('POST', '/api/v1/backfills/424242/cancel')).status).toBe(404);
  });

  it('marks partitions (201 new, 200 again) and lists datasets and partitions, names with a slash too', async () => {
    const { req } = await setup();
    const marked = await req('POST', '/api/v1/datasets/raw%2Fevents/partitions', {
      partition: '2026-11-22',
      metadata: { rows: 10 },
    });
    expect(marked).toMatchObject({
      status: 201,
      body: { created: true, partition: { dataset: 'raw/events' } },
    });
    expect(
      (await req('POST', '/api/v1/datasets/raw%2Fevents/partitions', { partition: '2026-11-22' })).status,
    ).toBe(200);
    expect((await req('GET', '/api/v1/datasets')).body.datasets).toMatchObject([
      { name: 'raw/events', partitions: 1 },
    ]);
    const parts = await req('GET', '/api/v1/datasets/raw%2Fevents/partitions?limit=10');
    expect(parts.body.partitions).toMatchObject([{ partition: '2026-11-22', metadata: { rows: 10 } }]);
    const bad = await req('POST', '/api/v1/datasets/-bad/partitions', { partition: 'p' });
    expect(bad.status).toBe(400);
  });
});

describe('errors', () => {
  it('answers bad input with 400 naming every failing field, and changes nothing', async () => {
    const { req, store } = await setup();
    const before = await counts(store);
    const res = await req('POST', '/api/v1/jobs', { task: '', options: { priority: 'high', colour: 'red' } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION');
    expect(res.body.error.details.issues.map((i: { path: string }) => i.path).sort()).toEqual([
      'options.colour',
      'options.priority',
      'task',
    ]);
    const fromClient = await req('POST', '/api/v1/jobs', { task: 'x', options: { delay: 'soon' } });
    expect(fromClient.body.error).toMatchObject({
      code: 'VALIDATION',
      details: { issues: [{ path: 'options.delay' }] },
    });
    const query = await req('GET', '/api/v1/jobs?limit=0&colour=red');
    expect(query.body.error.details.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'limit', in: 'query' }),
        expect.objectContaining({ path: 'colour', in: 'query' }),
      ]),
    );
    const params = await req('GET', '/api/v1/jobs/1%3Bdrop');
    expect(params.body.error.details.issues[0]).toMatchObject({ path: 'id', in: 'params' });
    const json = await req('POST', '/api/v1/jobs', '{"task": ');
    expect(json.status).toBe(400);
    expect(json.body.error.code).toBe('VALIDATION');
    const notJson = await req('POST', '/api/v1/jobs', undefined, { 'content-type': 'text/plain' });
    expect([400, 415]).toContain(notJson.status);
    expect(await counts(store)).toEqual(before);
  });

  it('answers 404 for unknown routes, 413 above the body limit, and 500 without internals', async () => {
    const big = await setup({ bodyLimit: 1000 });
    const unknown = await big.req('GET', '/api/v1/nothing');
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
    const tooLarge = await big.req('POST', '/api/v1/jobs', {
      task: 'greet',
      input: { name: 'x'.repeat(2000) },
    });
    expect(tooLarge).toMatchObject({ status: 413, body: { error: { code: 'BODY_TOO_LARGE' } } });
    expect(await counts(big.store)).toMatchObject({ jobs: 0 });

    const broken = await setup({
      wrap: (store) =>
        new Proxy(store, {
          get: (target, key) =>
            key === 'getJob'
              ? () => Promise.reject(new TypeError('secret detail at /var/lib/db'))
              : Reflect.get(target, key),
        }),
    });
    const res = await broken.req('GET', '/api/v1/jobs/1');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({
      error: { code: 'INTERNAL', message: 'internal error; see the server log', details: {} },
    });
    expect(JSON.stringify(res.body)).not.toMatch(/secret|stack|\.ts/);
  });
});
