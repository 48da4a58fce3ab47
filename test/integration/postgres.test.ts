import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createClient,
  createWorker,
  defineTask,
  JobCancelledError,
  type Store,
  StoreError,
  ValidationError,
} from '../../src/index.js';
import { LATEST_VERSION } from '../../src/store/postgres/migrate.js';
import { createPostgresStore } from '../../src/store/postgres/store.js';
import type { ClaimRequest } from '../../src/store/types.js';
import { countingClaims } from '../helpers.js';
import { freshSchema, PG_URL, pgAvailable } from '../pg.js';

const available = await pgAvailable();
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

let open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.reverse()) await o.close();
  open = [];
});

function pgStore(schema: string): Store {
  const store = createPostgresStore({ connectionString: PG_URL, schema, maxConnections: 4 });
  open.push(store);
  return store;
}

const add = defineTask({
  name: 'add',
  input: z.object({ a: z.number(), b: z.number() }),
  retry: { maxAttempts: 3, backoff: '10ms' },
  run: (ctx, { a, b }) => {
    if (a < 0 && ctx.attempt < 2) throw new Error('negative, first try');
    return a + b;
  },
});
const waits = defineTask({
  name: 'waits',
  input: z.object({}),
  run: (ctx) =>
    new Promise((_resolve, reject) => {
      ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
    }),
});

/** A fresh schema holding `total` pending no-op jobs of task `quick`; `ran()` counts its runs. */
async function quickBacklog(total: number) {
  const store = pgStore(freshSchema());
  let runs = 0;
  const quick = defineTask({
    name: 'quick',
    input: z.object({}),
    run: () => {
      runs++;
      return null;
    },
  });
  const client = createClient({ store, tasks: [quick] });
  open.push(client);
  for (let i = 0; i < total; i += 1000)
    await client.submitMany(
      quick,
      Array.from({ length: 1000 }, () => ({})),
    );
  return { store, quick, ran: () => runs };
}

describe.skipIf(!available)('PostgreSQL end to end', () => {
  it('runs jobs, retries them, and wakes a waiter on another connection through NOTIFY', async () => {
    const schema = freshSchema();
    const workerStore = pgStore(schema);
    const clientStore = pgStore(schema); // another pool: as if another process
    const worker = createWorker({
      store: workerStore,
      tasks: [add, waits],
      logger: quiet,
      pollInterval: '1h',
    });
    const client = createClient({ store: clientStore, tasks: [add] });
    open.push(worker, client);
    await worker.start();
    expect(await client.run(add, { a: 2, b: 3 }, { timeout: '10s' })).toBe(5);
    const retried = await client.submit(add, { a: -1, b: 1 });
    expect(await retried.result({ timeout: '10s' })).toBe(0);
    expect((await retried.get()).attempt).toBe(2);
    const history = (await client.events(retried.id)).map((e) => e.type);
    expect(history).toEqual(['created', 'started', 'retry_scheduled', 'started', 'succeeded']);
  });

  it('cancels a running job from another connection at once (NOTIFY, not the next heartbeat)', async () => {
    const schema = freshSchema();
    const worker = createWorker({
      store: pgStore(schema),
      tasks: [waits],
      logger: quiet,
      leaseDuration: '1m',
    });
    const client = createClient({ store: pgStore(schema) });
    open.push(worker, client);
    await worker.start();
    const h = await client.submit('waits', {});
    while ((await h.status()) !== 'running') await new Promise((r) => setTimeout(r, 10));
    const asked = Date.now();
    await client.cancel(h.id);
    await expect(h.result({ timeout: '15s' })).rejects.toBeInstanceOf(JobCancelledError);
    // The heartbeat comes every 20 s here; NOTIFY carried the cancel.
    expect(Date.now() - asked).toBeLessThan(10_000);
  });

  it('inserts inside the caller transaction: rolled back leaves no job, committed is picked up', async () => {
    const schema = freshSchema();
    const store = pgStore(schema);
    const worker = createWorker({ store, tasks: [add], logger: quiet });
    const client = createClient({ store, tasks: [add] });
    open.push(worker, client);
    await worker.start();
    const pool = new pg.Pool({ connectionString: PG_URL, max: 1 });
    try {
      const conn = await pool.connect();
      await conn.query('BEGIN');
      const doomed = await client.submit(add, { a: 1, b: 1 }, { tx: conn });
      await conn.query('ROLLBACK');
      await conn.query('BEGIN');
      const kept = await client.submit(add, { a: 20, b: 1 }, { tx: conn });
      await conn.query('COMMIT');
      conn.release();
      expect(await client.job(kept.id).result({ timeout: '10s' })).toBe(21);
      await expect(client.get(doomed.id)).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
    } finally {
      await pool.end();
    }
    await expect(client.submit(add, { a: 1, b: 1 }, { tx: {} })).rejects.toBeInstanceOf(ValidationError);
  });

  it('claims ahead while jobs are short; on stop unstarted jobs go back without using an attempt', async () => {
    const total = 5000;
    const { store, quick, ran } = await quickBacklog(total);
    const worker = createWorker({ store, tasks: [quick], logger: quiet, concurrency: 5, pollInterval: '1h' });
    open.push(worker);
    await worker.start();
    for (let i = 0; i < 1000 && ran() < 300; i++) await new Promise((r) => setTimeout(r, 5));
    await worker.stop();
    expect((await store.listJobs({ state: 'running' })).jobs).toEqual([]);
    const left = await store.claimJobs({
      workerId: 'check',
      queues: [quick.queue],
      tasks: [quick.name],
      limit: total,
      leaseMs: 10_000,
    });
    // Nothing lost or run twice. Jobs claimed ahead but never started were handed back (claimed
    // again now as attempt 2) without using an attempt: this claim is the first attempt used of each.
    expect(left.length + ran()).toBe(total);
    expect(left.some((j) => j.attempt === 2)).toBe(true);
    expect(left.filter((j) => j.attemptsUsed !== 1)).toEqual([]);
  });

  it('keeps two claims in flight through a backlog of short jobs; the second offers no resources', async () => {
    const total = 4000;
    const { store, quick, ran } = await quickBacklog(total);
    // Watch every claim: how many are out at once, what they may bring back, what each offers.
    let out = 0;
    let mostOut = 0;
    let limitsOut = 0;
    let mostLimitsOut = 0;
    const offersWhileAnotherOut: unknown[] = [];
    const watch = async <R>(req: ClaimRequest, claim: () => Promise<R>): Promise<R> => {
      if (out > 0) offersWhileAnotherOut.push(req.offer?.free);
      out++;
      limitsOut += req.limit;
      mostOut = Math.max(mostOut, out);
      mostLimitsOut = Math.max(mostLimitsOut, limitsOut);
      try {
        return await claim();
      } finally {
        out--;
        limitsOut -= req.limit;
      }
    };
    const watched: Store = {
      ...store,
      claimJobs: (req) => watch(req, () => store.claimJobs(req)),
      completeAndClaim: (batch, req) => watch(req, () => store.completeAndClaim(batch, req)),
    };
    const concurrency = 5;
    const worker = createWorker({
      store: watched,
      tasks: [quick],
      logger: quiet,
      concurrency,
      capacity: { cpu: 4 },
      pollInterval: '1h',
    });
    open.push(worker);
    await worker.start();
    for (let i = 0; i < 2000 && ran() < total; i++) await new Promise((r) => setTimeout(r, 5));
    await worker.stop();
    expect(ran()).toBe(total);
    expect(mostOut).toBe(2);
    // Slots plus 4 x concurrency claimed ahead, never more, however the claims overlap.
    expect(mostLimitsOut).toBeLessThanOrEqual(5 * concurrency);
    expect(offersWhileAnotherOut.length).toBeGreaterThan(0);
    expect(offersWhileAnotherOut.every((free) => JSON.stringify(free) === '{}')).toBe(true);
    expect((await store.listJobs({ state: 'running' })).jobs).toEqual([]);
    expect((await store.listJobs({ state: 'pending' })).jobs).toEqual([]);
  });

  it('claims again only when woken: an idle worker does not claim in a loop', async () => {
    const store = pgStore(freshSchema());
    const { store: counted, claims } = countingClaims(store);
    const client = createClient({ store });
    const worker = createWorker({ store: counted, tasks: [add], logger: quiet, pollInterval: '1h' });
    open.push(client, worker);
    await worker.start();
    // An empty queue: the first claim finds nothing, and nothing wakes the worker for an hour.
    await new Promise((r) => setTimeout(r, 300));
    expect(claims()).toBeLessThanOrEqual(2);
    // One job: a claim brings it, its completion goes with the next claim, then quiet again.
    await expect((await client.submit(add, { a: 1, b: 2 })).result({ timeout: '5s' })).resolves.toBe(3);
    const after = claims();
    await new Promise((r) => setTimeout(r, 300));
    expect(claims() - after).toBeLessThanOrEqual(2);
  });

  it('claims again at once when jobs were announced while a claim was out', async () => {
    const schema = freshSchema();
    const store = pgStore(schema);
    const submitter = pgStore(schema); // another pool: the announcement comes by NOTIFY
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let claimsHeld = 0;
    let claimed: () => void = () => {};
    const firstClaimOut = new Promise<void>((resolve) => {
      claimed = resolve;
    });
    const held: Store = {
      ...store,
      // The first claim finds nothing, then is held until the job it missed has been announced.
      claimJobs: async (req) => {
        const jobs = await store.claimJobs(req);
        if (claimsHeld++ === 0) {
          claimed();
          await gate;
        }
        return jobs;
      },
    };
    const worker = createWorker({ store: held, tasks: [add], logger: quiet, pollInterval: '1h' });
    open.push(worker);
    await worker.start();
    await firstClaimOut;
    const client = createClient({ store: submitter });
    open.push(client);
    const h = await client.submit(add, { a: 1, b: 2 });
    // Let the NOTIFY reach the worker while its claim is still out.
    await new Promise((r) => setTimeout(r, 200));
    release();
    // Without acting on that wake-up the job would wait for the next poll, an hour away.
    await expect(h.result({ timeout: '10s' })).resolves.toBe(3);
  });

  it('announces every insert to other processes with its queue, and any other insert to every queue', async () => {
    const schema = freshSchema();
    const store = pgStore(schema);
    const client = createClient({ store, tasks: [add] });
    open.push(client);
    await client.submitMany(add, []); // migrated
    const listener = new pg.Client({ connectionString: PG_URL });
    await listener.connect();
    const heard: string[] = [];
    listener.on('notification', (m) => {
      if (m.payload?.startsWith('a:')) heard.push(m.payload);
    });
    await listener.query(`LISTEN "${schema}.jobs"`);
    const hear = async (what: () => Promise<unknown>): Promise<string[]> => {
      heard.length = 0;
      await what();
      for (let i = 0; i < 100 && heard.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 50)); // anything more it would send
      return [...heard];
    };
    try {
      // One statement: a single submit, a bulk submit, a delayed one (with its due time).
      expect(await hear(() => client.submit(add, { a: 1, b: 1 }))).toEqual(['a:default']);
      expect(
        await hear(() =>
          client.submitMany(add, [
            { a: 1, b: 1 },
            { a: 2, b: 2 },
          ]),
        ),
      ).toEqual(['a:default']);
      const [delayed] = await hear(() => client.submit(add, { a: 1, b: 1 }, { delay: '1h', queue: 'later' }));
      expect(delayed).toMatch(/^a:later@\d+$/);
      // A transaction of the store's (a dedup key takes one): its queue, once, not every queue.
      expect(await hear(() => client.submit(add, { a: 1, b: 1 }, { dedupKey: 'k', queue: 'q2' }))).toEqual([
        'a:q2',
      ]);
      // Inside the caller's transaction: heard on commit.
      const conn = new pg.Client({ connectionString: PG_URL });
      await conn.connect();
      try {
        expect(
          await hear(async () => {
            await conn.query('BEGIN');
            await client.submit(add, { a: 1, b: 1 }, { tx: conn, queue: 'q3' });
            await conn.query('COMMIT');
          }),
        ).toEqual(['a:q3']);
        // An insert stint did not make still wakes workers: of every queue, as it names none.
        heard.length = 0;
        const row =
          await conn.query(`INSERT INTO "${schema}".jobs (task, queue, state, input, run_at, created_at,
          max_attempts, backoff_ms, backoff_factor, backoff_max_ms, backoff_jitter)
          SELECT task, queue, 'pending', input, run_at, created_at, max_attempts, backoff_ms, backoff_factor,
            backoff_max_ms, backoff_jitter FROM "${schema}".jobs LIMIT 1 RETURNING id`);
        expect(row.rowCount).toBe(1);
      } finally {
        await conn.end();
      }
      await new Promise((r) => setTimeout(r, 100));
      expect(heard).toEqual(['a:']);
      // A flow's first step is inserted in a transaction that announces its queue.
      expect(
        await hear(() =>
          client.submitFlow({
            name: 'f',
            steps: [{ name: 'one', task: 'add', input: { a: 1, b: 2 }, queue: 'fq' }],
          }),
        ),
      ).toEqual(['a:fq']);
    } finally {
      await listener.end();
    }
  });

  it('wakes an idle worker of any queue on an insert that names no queue', async () => {
    const schema = freshSchema();
    const store = pgStore(schema);
    const worker = createWorker({ store, tasks: [add], logger: quiet, pollInterval: '1h' });
    open.push(worker);
    await worker.start();
    const client = createClient({ store: pgStore(schema), tasks: [add] });
    open.push(client);
    const conn = new pg.Client({ connectionString: PG_URL });
    await conn.connect();
    try {
      const [row] = (
        await conn.query(`INSERT INTO "${schema}".jobs (task, queue, state, input, run_at, created_at, max_attempts,
          backoff_ms, backoff_factor, backoff_max_ms, backoff_jitter)
          VALUES ('add', 'default', 'pending', '{"a":4,"b":5}', 0, 0, 1, 0, 1, 0, 0) RETURNING id`)
      ).rows;
      await expect(client.job(String(row.id)).result({ timeout: '10s' })).resolves.toBe(9);
    } finally {
      await conn.end();
    }
  });

  it('migrates once when ten stores start on a new schema at the same time', async () => {
    const schema = freshSchema();
    const stores = Array.from({ length: 10 }, () => pgStore(schema));
    await Promise.all(stores.map((s) => s.now()));
    const check = new pg.Client({ connectionString: PG_URL });
    await check.connect();
    try {
      const { rows } = await check.query(`SELECT version FROM "${schema}".stint_migrations ORDER BY version`);
      expect(rows).toEqual(Array.from({ length: LATEST_VERSION }, (_, i) => ({ version: i + 1 })));
    } finally {
      await check.end();
    }
  });

  it('fails with a clear error, not a hang, when the database cannot be reached', async () => {
    const store = createPostgresStore({
      connectionString: 'postgres://postgres@127.0.0.1:1/test',
      connectTimeoutMs: 2000,
    });
    open.push(store);
    const err = await store.getJob('1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as Error).message).toMatch(
      /cannot use PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:1\/test/,
    );
  });
});
