import Database from 'better-sqlite3';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  type Client,
  createClient,
  createSqliteStore,
  createWorker,
  defineTask,
  JobCancelledError,
  JobFailedError,
  PermanentError,
  type Store,
  ValidationError,
  type Worker,
  type WorkerOptions,
} from '../../src/index.js';
import { countingClaims, tempDbPath, tempDir } from '../helpers.js';

const dir = tempDir();
const quietLogger = { debug() {}, info() {}, warn() {}, error() {} };

let open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.reverse()) await o.close();
  open = [];
});

function setup(tasks: WorkerOptions['tasks'], workerOptions: Partial<WorkerOptions> = {}) {
  const store: Store = createSqliteStore({ path: tempDbPath(dir) });
  const client: Client = createClient({ store, tasks });
  const worker: Worker = createWorker({
    store,
    tasks,
    concurrency: 4,
    logger: quietLogger,
    ...workerOptions,
  });
  open.push(store, client, worker);
  return { store, client, worker };
}

const add = defineTask({
  name: 'add',
  input: z.object({ a: z.number(), b: z.number().default(1) }),
  run: (_ctx, { a, b }) => ({ sum: a + b }),
});

describe('claiming', () => {
  it('claims again only when woken: a short claim is not followed by another at once', async () => {
    const store: Store = createSqliteStore({ path: tempDbPath(dir) });
    const { store: counted, claims } = countingClaims(store);
    const client = createClient({ store, tasks: [add] });
    const worker = createWorker({ store: counted, tasks: [add], logger: quietLogger, pollInterval: '1h' });
    open.push(store, client, worker);
    await worker.start();
    // An empty queue: the first claim finds nothing, and nothing wakes the worker for an hour.
    await new Promise((r) => setTimeout(r, 300));
    expect(claims()).toBeLessThanOrEqual(2);
    // One job: a claim brings it, its completion goes with the next claim, then quiet again.
    await expect((await client.submit(add, { a: 1 })).result({ timeout: '5s' })).resolves.toEqual({ sum: 2 });
    const after = claims();
    await new Promise((r) => setTimeout(r, 300));
    expect(claims() - after).toBeLessThanOrEqual(2);
  });
});

describe('submit and result', () => {
  it('runs a job and returns its typed result, from any handle', async () => {
    const { client, worker } = setup([add]);
    await worker.start();
    const handle = await client.submit(add, { a: 2, b: 3 });
    expectTypeOf(handle.result).returns.resolves.toEqualTypeOf<{ sum: number }>();
    expect(await handle.result({ timeout: '10s' })).toEqual({ sum: 5 });
    expect(await handle.status()).toBe('succeeded');
    expect(await client.job<{ sum: number }>(handle.id).result()).toEqual({ sum: 5 });
    expect(await client.run(add, { a: 1 })).toEqual({ sum: 2 });
  });

  it('fetches the result from another store instance on the same file', async () => {
    const path = tempDbPath(dir);
    const workerStore = createSqliteStore({ path });
    const worker = createWorker({ store: workerStore, tasks: [add], logger: quietLogger });
    const other = createClient({ store: path });
    open.push(workerStore, worker, other);
    const handle = await other.submit('add', { a: 40, b: 2 });
    await worker.start();
    expect(await other.job(handle.id).result({ timeout: '10s' })).toEqual({ sum: 42 });
  });

  it('rejects bad input naming the field, and stores nothing', async () => {
    const { client } = setup([add]);
    const err = await client.submit(add, { a: 'x' } as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues[0]?.path).toBe('input.a');
    expect((err as ValidationError).message).toMatch(/input\.a/);
    await expect(client.submit('add', { b: 1 })).rejects.toThrow(/input\.a/);
    await expect(client.submit(add, { a: 1 }, { priority: 1.5 })).rejects.toThrow(/options\.priority/);
    await expect(client.submit(add, { a: 1 }, { dedupWindow: '1m' })).rejects.toThrow(/dedupKey/);
    await expect(client.submit(add, { a: 1 }, { bogus: 1 } as never)).rejects.toThrow(/options\.bogus/);
    expect((await client.list()).jobs).toEqual([]);
  });

  it('submits many in one call', async () => {
    const { client, worker } = setup([add]);
    const handles = await client.submitMany(add, [{ a: 1 }, { a: 2 }, { a: 3 }]);
    await worker.start();
    expect(await Promise.all(handles.map((h) => h.result()))).toEqual([{ sum: 2 }, { sum: 3 }, { sum: 4 }]);
    await expect(client.submitMany(add, [{ a: 1 }, { a: 'no' } as never])).rejects.toThrow(/inputs\.1\.a/);
  });

  it('submits by name with the defaults a worker registered (queue, retry, timeout)', async () => {
    const mailer = defineTask({
      name: 'mailer',
      input: z.object({ to: z.string() }),
      queue: 'mail',
      priority: 3,
      timeout: '5s',
      retry: { maxAttempts: 6 },
      run: (_ctx, { to }) => `sent to ${to}`,
    });
    const { store, worker } = setup([mailer]);
    await worker.start();
    const blind = createClient({ store }); // has no task definitions
    open.push(blind);
    const h = await blind.submit<string>('mailer', { to: 'ada' });
    expect(await h.get()).toMatchObject({ queue: 'mail', priority: 3, maxAttempts: 6, timeoutMs: 5000 });
    expect(await h.result({ timeout: '10s' })).toBe('sent to ada');
    // Explicit options still win.
    const h2 = await blind.submit('mailer', { to: 'b' }, { priority: 9, delay: '1h' });
    expect(await h2.get()).toMatchObject({ queue: 'mail', priority: 9 });
  });

  it('deduplicates a second submission while the key is held', async () => {
    const { client } = setup([add]);
    const first = await client.submit(add, { a: 1 }, { dedupKey: 'order-7', dedupWindow: '1h' });
    const second = await client.submit(add, { a: 99 }, { dedupKey: 'order-7', dedupWindow: '1h' });
    expect(second.id).toBe(first.id);
    expect([first.deduplicated, second.deduplicated]).toEqual([false, true]);
    expect((await client.list()).jobs).toHaveLength(1);
  });
});

describe('retries, errors and timeouts', () => {
  it('retries with backoff until the handler succeeds', async () => {
    let calls = 0;
    const flaky = defineTask({
      name: 'flaky',
      input: z.object({}),
      retry: { maxAttempts: 4, backoff: '20ms', jitter: 0 },
      run: (ctx) => {
        calls++;
        if (ctx.attempt < 3) throw new Error(`fail ${ctx.attempt}`);
        return ctx.attempt;
      },
    });
    const { client, worker } = setup([flaky]);
    await worker.start();
    const h = await client.submit(flaky, {});
    expect(await h.result({ timeout: '10s' })).toBe(3);
    expect(calls).toBe(3);
    const events = await client.events(h.id);
    const retries = events.filter((e) => e.type === 'retry_scheduled');
    expect(retries.map((e) => e.detail?.delayMs)).toEqual([20, 40]);
    expect(retries[0]?.detail?.error).toMatchObject({ message: 'fail 1' });
  });

  it('fails at once on a PermanentError and stores name, message and stack', async () => {
    let calls = 0;
    const strict = defineTask({
      name: 'strict',
      input: z.object({}),
      retry: { maxAttempts: 5, backoff: '10ms' },
      run: () => {
        calls++;
        throw new PermanentError('card declined');
      },
    });
    const { client, worker } = setup([strict]);
    await worker.start();
    const h = await client.submit(strict, {});
    const err = await h.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobFailedError);
    expect((err as JobFailedError).error).toMatchObject({
      name: 'PermanentError',
      message: 'card declined',
      code: 'PERMANENT',
    });
    expect((err as JobFailedError).error.stack).toMatch(/card declined/);
    expect(calls).toBe(1);
    expect((await h.get()).state).toBe('failed');
  });

  it('fails an attempt at its deadline even when the handler ignores the signal', async () => {
    let sawAbort: unknown = null;
    const slow = defineTask({
      name: 'slow',
      input: z.object({}),
      timeout: '50ms',
      retry: { maxAttempts: 1 },
      run: (ctx) =>
        new Promise((resolve) => {
          ctx.signal.addEventListener('abort', () => {
            sawAbort = ctx.signal.reason;
          });
          setTimeout(resolve, 400); // ignores the signal
        }),
    });
    const { client, worker } = setup([slow]);
    await worker.start();
    const h = await client.submit(slow, {});
    const err = (await h.result().catch((e: unknown) => e)) as JobFailedError;
    expect(err.error).toMatchObject({ code: 'JOB_TIMEOUT' });
    expect((sawAbort as Error).name).toBe('JobTimeoutError');
    const rec = await h.get();
    expect(rec.finishedAt! - rec.startedAt!).toBeLessThan(350);
  });
});

describe('cancel', () => {
  const waitForCancel = defineTask({
    name: 'waitForCancel',
    input: z.object({}),
    run: (ctx) =>
      new Promise((_resolve, reject) => {
        ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
      }),
  });

  it('cancels a pending job at once', async () => {
    const { client } = setup([add]);
    const h = await client.submit(add, { a: 1 }, { delay: '1h' });
    expect((await h.cancel()).state).toBe('cancelled');
    await expect(h.result()).rejects.toBeInstanceOf(JobCancelledError);
  });

  it('aborts a running job and ends it cancelled', async () => {
    const { client, worker } = setup([waitForCancel]);
    await worker.start();
    const h = await client.submit(waitForCancel, {});
    while ((await h.status()) !== 'running') await new Promise((r) => setTimeout(r, 5));
    await client.cancel(h.id, 'operator said so');
    await expect(h.result({ timeout: '10s' })).rejects.toBeInstanceOf(JobCancelledError);
    const types = (await client.events(h.id)).map((e) => e.type);
    expect(types).toEqual(['created', 'started', 'cancel_requested', 'cancelled']);
  });

  it('re-runs a failed job on retry', async () => {
    let fail = true;
    const once = defineTask({
      name: 'once',
      input: z.object({}),
      retry: { maxAttempts: 1 },
      run: () => {
        if (fail) throw new Error('first time');
        return 'ok';
      },
    });
    const { client, worker } = setup([once]);
    await worker.start();
    const h = await client.submit(once, {});
    await expect(h.result()).rejects.toBeInstanceOf(JobFailedError);
    fail = false;
    await client.retry(h.id);
    expect(await h.result({ timeout: '10s' })).toBe('ok');
  });
});

describe('order and timing', () => {
  it('runs higher priority first, then in submission order', async () => {
    const seen: number[] = [];
    const rec = defineTask({
      name: 'rec',
      input: z.object({ n: z.number() }),
      run: (_c, { n }) => void seen.push(n),
    });
    const { client, worker } = setup([rec], { concurrency: 1 });
    const handles = [];
    for (const [n, priority] of [
      [1, 0],
      [2, 0],
      [3, 10],
      [4, -5],
      [5, 10],
    ] as const) {
      handles.push(await client.submit(rec, { n }, { priority }));
    }
    await worker.start();
    await Promise.all(handles.map((h) => h.result()));
    expect(seen).toEqual([3, 5, 1, 2, 4]);
  });

  it('starts a delayed job no earlier than its time, woken without waiting for a poll', async () => {
    const { client, worker } = setup([add], { pollInterval: '1h' });
    await worker.start();
    const runAt = Date.now() + 150;
    const h = await client.submit(add, { a: 1 }, { runAt: new Date(runAt) });
    await h.result({ timeout: '10s' });
    const job = await h.get();
    expect(job.startedAt!).toBeGreaterThanOrEqual(runAt);
    expect(job.startedAt! - runAt).toBeLessThan(1000);
  });
});

describe('logs and progress', () => {
  it('stores log lines with the job, caps them, and records progress', async () => {
    const chatty = defineTask({
      name: 'chatty',
      input: z.object({}),
      run: (ctx) => {
        ctx.log.info('starting', { step: 1 });
        ctx.progress(1, 2);
        ctx.log.warn('careful');
        for (let i = 0; i < 10; i++) ctx.log.debug(`line ${i}`);
        ctx.progress(2, 2);
        return 'done';
      },
    });
    const { client, worker } = setup([chatty], { maxLogLines: 5 });
    await worker.start();
    const h = await client.submit(chatty, {});
    await h.result();
    const logs = await client.logs(h.id);
    expect(logs.map((l) => l.message)).toEqual([
      'starting',
      'careful',
      'line 0',
      'line 1',
      'line 2',
      'log truncated: more than 5 lines in this attempt',
    ]);
    expect(logs[0]).toMatchObject({ level: 'info', attempt: 1, fields: { step: 1 } });
  });
});

/**
 * Forges the job's lease into the past (as if its worker had stalled), then sweeps it as the
 * coordinator would; the next attempt is due after `retryDelayMs`.
 */
async function expireLeaseNow(store: Store, id: string, retryDelayMs: number): Promise<void> {
  const raw = new Database(store.description.slice('sqlite:'.length));
  raw.prepare('UPDATE jobs SET lease_expires_at = 0 WHERE id = ?').run(Number(id));
  raw.close();
  await store.expireLeases({ limit: 10, decide: () => retryDelayMs });
}

describe('leases', () => {
  it('aborts a handler whose lease was lost, drops its completion, and runs the next attempt', async () => {
    const reasons: string[] = [];
    const holder = defineTask({
      name: 'holder',
      input: z.object({}),
      retry: { maxAttempts: 3, backoff: '1ms' },
      run: (ctx) =>
        ctx.attempt > 1
          ? `attempt ${ctx.attempt}`
          : new Promise((_resolve, reject) => {
              ctx.signal.addEventListener('abort', () => {
                reasons.push((ctx.signal.reason as Error).name);
                reject(ctx.signal.reason);
              });
            }),
    });
    const { store, client, worker } = setup([holder], {
      leaseDuration: 5000,
      heartbeatInterval: 50,
      coordinator: false,
    });
    await worker.start();
    const h = await client.submit(holder, {});
    while ((await h.status()) !== 'running') await new Promise((r) => setTimeout(r, 5));
    await expireLeaseNow(store, h.id, 0);
    expect(await h.result({ timeout: '10s' })).toBe('attempt 2');
    expect(reasons).toEqual(['LeaseLostError']);
    const types = (await client.events(h.id)).map((e) => e.type);
    expect(types).toEqual(['created', 'started', 'lease_expired', 'retry_scheduled', 'started', 'succeeded']);
  });

  it('lets a handler renew its lease with ctx.heartbeat(), which rejects once the lease is lost', async () => {
    const seen: string[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const beating = defineTask({
      name: 'beating',
      input: z.object({}),
      run: async (ctx) => {
        await ctx.heartbeat();
        seen.push('renewed');
        await gate;
        try {
          await ctx.heartbeat();
        } catch (err) {
          seen.push((err as Error).name);
          throw err;
        }
      },
    });
    const { store, client, worker } = setup([beating], {
      leaseDuration: '1h',
      heartbeatInterval: '30m',
      coordinator: false,
    });
    await worker.start();
    const h = await client.submit(beating, {});
    while (seen.length === 0) await new Promise((r) => setTimeout(r, 5));
    expect((await h.get()).leaseExpiresAt).toBeGreaterThan(Date.now() + 3_000_000);
    await expireLeaseNow(store, h.id, 3_600_000);
    release();
    while (seen.length < 2) await new Promise((r) => setTimeout(r, 5));
    expect(seen).toEqual(['renewed', 'LeaseLostError']);
    await h.cancel();
  });

  it('learns of a lost lease at the next heartbeat', async () => {
    const reasons: string[] = [];
    const holder = defineTask({
      name: 'holder2',
      input: z.object({}),
      run: (ctx) =>
        new Promise((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => {
            reasons.push((ctx.signal.reason as Error).name);
            reject(ctx.signal.reason);
          });
        }),
    });
    const { store, client, worker } = setup([holder], {
      leaseDuration: 5000,
      heartbeatInterval: 50,
      coordinator: false,
    });
    await worker.start();
    const h = await client.submit(holder, {});
    while ((await h.status()) !== 'running') await new Promise((r) => setTimeout(r, 5));
    await expireLeaseNow(store, h.id, 3_600_000); // next attempt in an hour
    while (reasons.length === 0) await new Promise((r) => setTimeout(r, 10));
    expect(reasons).toEqual(['LeaseLostError']);
    await new Promise((r) => setTimeout(r, 100));
    expect(worker.running).toBe(0);
    const types = (await client.events(h.id)).map((e) => e.type);
    expect(types).toEqual(['created', 'started', 'lease_expired', 'retry_scheduled']);
    await h.cancel();
  });
});

describe('shutdown', () => {
  it('lets running jobs finish when stopped', async () => {
    const sleepy = defineTask({
      name: 'sleepy',
      input: z.object({}),
      run: () => new Promise((r) => setTimeout(() => r('slept'), 100)),
    });
    const { client, worker } = setup([sleepy]);
    await worker.start();
    const h = await client.submit(sleepy, {});
    while ((await h.status()) !== 'running') await new Promise((r) => setTimeout(r, 5));
    await worker.stop();
    expect(worker.state).toBe('stopped');
    expect(await h.status()).toBe('succeeded');
  });

  it('aborts jobs past the shutdown timeout and hands them back without using an attempt', async () => {
    const stuck = defineTask({
      name: 'stuck',
      input: z.object({}),
      retry: { maxAttempts: 1 },
      run: () => new Promise(() => {}),
    });
    const { client, worker } = setup([stuck]);
    await worker.start();
    const h = await client.submit(stuck, {});
    while ((await h.status()) !== 'running') await new Promise((r) => setTimeout(r, 5));
    await worker.stop({ timeout: '50ms' });
    const job = await h.get();
    expect(job.state).toBe('pending');
    expect((await client.events(h.id)).map((e) => e.type)).toEqual(['created', 'started', 'released']);
  });

  it('runs two workers in one process side by side', async () => {
    const store = createSqliteStore({ path: tempDbPath(dir) });
    const client = createClient({ store });
    const w1 = createWorker({ store, tasks: [add], logger: quietLogger, concurrency: 2 });
    const w2 = createWorker({ store, tasks: [add], logger: quietLogger, concurrency: 2 });
    open.push(store, client, w1, w2);
    await w1.start();
    await w2.start();
    const handles = await client.submitMany(
      add,
      Array.from({ length: 50 }, (_, i) => ({ a: i })),
    );
    const results = await Promise.all(handles.map((h) => h.result({ timeout: '10s' })));
    expect(results.map((r) => (r as { sum: number }).sum)).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    const workers = new Set((await client.list({ limit: 100 })).jobs.map((j) => j.workerId));
    expect(workers.size).toBeGreaterThanOrEqual(1);
  });
});
