import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createFakeClock, type FakeClock } from '../../src/core/clock.js';
import { createWorker, defineTask } from '../../src/index.js';
import { MAX_BULK_IDS } from '../../src/server/routes/bulk.js';
import { createPostgresStore } from '../../src/store/postgres/store.js';
import { createSqliteStore } from '../../src/store/sqlite/store.js';
import type { Store } from '../../src/store/types.js';
import { tempDbPath, tempDir } from '../helpers.js';
import { freshSchema, PG_URL, pgAvailable } from '../pg.js';
import { closeAfter, fakeAuth, type Json, quietLogger, setup } from './server-helpers.js';

const dir = tempDir('stint-server-overview-');
const pg = await pgAvailable();
const T = Date.UTC(2026, 10, 23, 12);
const MIN = 60_000;

const stores: { kind: string; make: (clock: FakeClock) => Store }[] = [
  { kind: 'sqlite', make: (clock) => createSqliteStore({ path: tempDbPath(dir), clock }) },
  ...(pg
    ? [
        {
          kind: 'postgres',
          make: (clock: FakeClock) =>
            createPostgresStore({
              connectionString: PG_URL,
              schema: freshSchema('stint_server_overview'),
              clock,
              maxConnections: 4,
            }),
        },
      ]
    : []),
];

const as = (role: string) => ({ authorization: `Bearer ${role}` });

const resize = defineTask({
  name: 'resize',
  description: 'Resizes an image',
  input: z.object({
    url: z.string().describe('where the image is'),
    width: z.number().int().default(64),
    at: z.date().optional(), // not expressible in JSON Schema: becomes {}
  }),
  run: () => null,
});

describe.each(stores)('web UI reads and bulk actions, $kind', ({ make }) => {
  const open = async () => {
    const clock = createFakeClock(T);
    const store = closeAfter(make(clock));
    const s = await setup({ store, auth: fakeAuth });
    return { ...s, clock };
  };

  it('GET /tasks lists what workers registered, with the input as JSON Schema; GET /tasks/:name 404s unknown', async () => {
    const { req, store } = await open();
    expect((await req('GET', '/api/v1/tasks', undefined, as('viewer'))).body).toEqual({ tasks: [] });

    const worker = createWorker({ store, tasks: [resize], logger: quietLogger, coordinator: false });
    await worker.start();
    await worker.stop();

    const list = await req('GET', '/api/v1/tasks', undefined, as('viewer'));
    expect(list.status).toBe(200);
    expect(list.body.tasks).toHaveLength(1);
    const task = (await req('GET', '/api/v1/tasks/resize', undefined, as('viewer'))).body;
    expect(task).toEqual(list.body.tasks[0]);
    expect(task).toMatchObject({
      name: 'resize',
      queue: 'default',
      description: 'Resizes an image',
      revertible: false,
      updatedAt: T,
    });
    expect(task.inputSchema).toMatchObject({
      type: 'object',
      properties: {
        url: { type: 'string', description: 'where the image is' },
        width: { type: 'integer', default: 64 },
        at: {},
      },
      required: ['url'],
    });

    const missing = await req('GET', '/api/v1/tasks/nope', undefined, as('viewer'));
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('TASK_NOT_FOUND');
    expect((await req('GET', '/api/v1/tasks')).status).toBe(401);
  });

  it('GET /overview answers depths, running jobs, workers, the coordinator, failing tasks and throughput', async () => {
    const { req, store, clock } = await open();
    const submit = async (task: string) =>
      (await req('POST', '/api/v1/jobs', { task, input: {} }, as('operator'))).body.id as string;
    const claim = () =>
      store.claimJobs({
        workerId: 'w1',
        queues: ['default'],
        tasks: ['a', 'b'],
        limit: 10,
        leaseMs: 3_600_000,
      });
    const a1 = await submit('a');
    const a2 = await submit('a');
    await submit('b');
    await claim();
    clock.advance(2 * MIN);
    for (const id of [a1, a2]) {
      await store.completeJobs({
        completions: [
          {
            id,
            attempt: 1,
            workerId: 'w1',
            outcome: 'failed',
            error: { name: 'Error', message: 'x' },
            retryDelayMs: null,
          },
        ],
      });
    }
    await submit('b'); // pending
    await store.acquireLease('coordinator', 'node-1', 5000);
    await store.heartbeatWorker({
      id: 'w1',
      host: 'h',
      pid: 1,
      version: '0',
      queues: ['default'],
      tasks: ['a', 'b'],
      labels: {},
      capacity: {},
      inUse: {},
      concurrency: 4,
      running: 1,
      heartbeatMs: 1000,
    });

    const res = await req('GET', '/api/v1/overview', undefined, as('viewer'));
    expect(res.status).toBe(200);
    const o = res.body as Json;
    expect(o.now).toBe(T + 2 * MIN);
    expect(o.queues.map((q: Json) => q.name)).toEqual(['default']);
    expect(o.jobs).toEqual({ pending: 1, running: 1 });
    expect(o.workers).toEqual({ active: 1 });
    expect(o.coordinator).toEqual({ holder: 'node-1', term: 1, expiresAt: T + 2 * MIN + 5000 });
    expect(o.failingTasks).toEqual([{ task: 'a', failed: 2, lastFailedAt: T + 2 * MIN }]);
    expect(o.throughput.bucketMs).toBe(MIN);
    expect(o.throughput.buckets).toHaveLength(60);
    const bucket = (at: number) => o.throughput.buckets.find((b: Json) => b.at === at);
    expect(bucket(T)).toEqual({ at: T, started: 3, succeeded: 0, failed: 0, cancelled: 0 });
    expect(bucket(T + 2 * MIN)).toEqual({
      at: T + 2 * MIN,
      started: 0,
      succeeded: 0,
      failed: 2,
      cancelled: 0,
    });

    const custom = await req('GET', `/api/v1/overview?since=${T}&bucket=1m`, undefined, as('viewer'));
    expect(custom.body.throughput.buckets.map((b: Json) => b.at)).toEqual([T, T + MIN, T + 2 * MIN]);
    const iso = await req(
      'GET',
      '/api/v1/overview?since=2026-11-23T12:00:00Z&bucket=60000',
      undefined,
      as('viewer'),
    );
    expect(iso.body.throughput.since).toBe(T);

    clock.advance(10_000); // the coordinator lease runs out
    expect((await req('GET', '/api/v1/overview', undefined, as('viewer'))).body.coordinator).toBeNull();

    for (const [query, field] of [
      ['bucket=10ms', 'bucket'],
      ['bucket=soon', 'bucket'],
      ['since=yesterday', 'since'],
      [`since=${T + 3_600_000}`, 'since'],
      ['since=0', 'bucket'], // too many buckets
      ['other=1', 'other'],
    ] as const) {
      const bad = await req('GET', `/api/v1/overview?${query}`, undefined, as('viewer'));
      expect(bad.status, query).toBe(400);
      expect(bad.body.error.code).toBe('VALIDATION');
      expect(JSON.stringify(bad.body.error), query).toContain(field);
    }
    expect((await req('GET', '/api/v1/overview')).status).toBe(401);
  });

  it('POST /jobs/cancel and /jobs/retry act per id and report each refusal by its code', async () => {
    const { req, store } = await open();
    const submit = async () =>
      (await req('POST', '/api/v1/jobs', { task: 't', input: {} }, as('operator'))).body.id as string;
    const done = await submit();
    const running = await submit();
    const pending = await submit();
    await store.claimJobs({ workerId: 'w', queues: ['default'], tasks: ['t'], limit: 2, leaseMs: 60_000 });
    await store.completeJobs({
      completions: [{ id: done, attempt: 1, workerId: 'w', outcome: 'succeeded', output: null }],
    });
    const states = async () =>
      Promise.all([done, running, pending].map(async (id) => (await store.getJob(id))!.state));
    expect(await states()).toEqual(['succeeded', 'running', 'pending']);

    const forbidden = await req('POST', '/api/v1/jobs/cancel', { ids: [pending] }, as('viewer'));
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.code).toBe('FORBIDDEN');
    expect((await req('POST', '/api/v1/jobs/retry', { ids: [done] }, as('viewer'))).status).toBe(403);
    expect(await states()).toEqual(['succeeded', 'running', 'pending']);

    const cancel = await req(
      'POST',
      '/api/v1/jobs/cancel',
      { ids: [pending, running, done, '999999', pending], reason: 'cleanup' },
      as('operator'),
    );
    expect(cancel.status).toBe(200);
    expect(cancel.body.results).toEqual([
      { id: pending, ok: true, state: 'cancelled' },
      { id: running, ok: true, state: 'running' }, // cancel requested: the worker aborts it
      { id: done, ok: false, error: { code: 'CONFLICT', message: expect.any(String) } },
      { id: '999999', ok: false, error: { code: 'JOB_NOT_FOUND', message: expect.any(String) } },
    ]);
    expect((await store.getJob(pending))!.error?.message).toContain('cleanup');
    expect((await store.getJob(running))!.cancelRequested).toBe(true);

    const retry = await req('POST', '/api/v1/jobs/retry', { ids: [pending, done, running] }, as('operator'));
    expect(retry.status).toBe(200);
    expect(retry.body.results).toEqual([
      { id: pending, ok: true, state: 'pending' },
      { id: done, ok: false, error: { code: 'CONFLICT', message: expect.any(String) } },
      { id: running, ok: false, error: { code: 'CONFLICT', message: expect.any(String) } },
    ]);

    for (const body of [
      {},
      { ids: [] },
      { ids: ['x1'] },
      { ids: [1] },
      { ids: Array.from({ length: MAX_BULK_IDS + 1 }, (_, i) => String(i + 1)) },
      { ids: [pending], extra: true },
    ]) {
      const bad = await req('POST', '/api/v1/jobs/cancel', body, as('operator'));
      expect(bad.status, JSON.stringify(body).slice(0, 50)).toBe(400);
      expect(bad.body.error.code).toBe('VALIDATION');
    }
    expect(await states()).toEqual(['succeeded', 'running', 'pending']);
    expect((await req('POST', '/api/v1/jobs/cancel', { ids: [pending] })).status).toBe(401);
  });
});
