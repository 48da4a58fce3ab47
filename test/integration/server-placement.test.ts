import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createWorker, defineTask } from '../../src/index.js';
import { closeAfter, quietLogger, setup } from './server-helpers.js';

describe('HTTP API: workers and queues', () => {
  it('lists workers, sets queue limits, submits placed jobs and answers 429 when a queue is full', async () => {
    const { req, store } = await setup();
    const task = defineTask({ name: 'fit', input: z.object({}), run: () => 'ok' });
    const worker = createWorker({
      store,
      tasks: [task],
      capacity: { cpu: 2 },
      labels: { zone: 'eu-1' },
      coordinator: false,
      logger: quietLogger,
    });
    closeAfter({ close: () => worker.stop() });
    await worker.start();

    const workers = await req('GET', '/api/v1/workers');
    expect(workers.status).toBe(200);
    expect(workers.body.workers).toHaveLength(1);
    expect(workers.body.workers[0]).toMatchObject({
      id: worker.id,
      state: 'active',
      queues: ['default'],
      capacity: { cpu: 2 },
      labels: { zone: 'eu-1' },
    });
    expect((await req('GET', '/api/v1/workers?state=gone')).body.workers).toEqual([]);
    expect((await req('GET', '/api/v1/workers?state=sleeping')).status).toBe(400);

    const placed = await req('POST', '/api/v1/jobs', {
      task: 'fit',
      input: {},
      options: { resources: { cpu: 2 }, labels: { zone: 'eu-1' }, concurrency: { key: 'k', limit: 1 } },
    });
    expect(placed.status).toBe(201);
    const job = await req('GET', `/api/v1/jobs/${placed.body.id}`);
    expect(job.body).toMatchObject({
      placement: { resources: { cpu: 2 }, labels: { zone: 'eu-1' } },
      concurrency: { key: 'k', limit: 1 },
    });
    const bad = await req('POST', '/api/v1/jobs', {
      task: 'fit',
      input: {},
      options: { resources: { cpu: -1 } },
    });
    expect(bad.status).toBe(400);

    const set = await req('PATCH', '/api/v1/queues/bounded', {
      maxPending: 1,
      rateLimit: { limit: 5, period: '1s' },
    });
    expect(set.status).toBe(200);
    expect(set.body).toEqual({
      name: 'bounded',
      maxPending: 1,
      shedPolicy: 'reject',
      rateLimit: { limit: 5, periodMs: 1000 },
    });
    expect((await req('GET', '/api/v1/queues/bounded')).body.maxPending).toBe(1);
    expect((await req('PATCH', '/api/v1/queues/bounded', { maxPending: 0 })).status).toBe(400);
    const first = await req('POST', '/api/v1/jobs', {
      task: 'fit',
      input: {},
      options: { queue: 'bounded' },
    });
    expect(first.status).toBe(201);
    const full = await req('POST', '/api/v1/jobs', { task: 'fit', input: {}, options: { queue: 'bounded' } });
    expect(full.status).toBe(429);
    expect(full.body.error.code).toBe('QUEUE_FULL');

    const queues = await req('GET', '/api/v1/queues');
    expect(queues.status).toBe(200);
    const bounded = queues.body.queues.find((q: { name: string }) => q.name === 'bounded');
    expect(bounded).toMatchObject({ pending: 1, settings: { maxPending: 1 } });
  });
});
