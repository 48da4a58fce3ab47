/**
 * The three PostgreSQL job queues the `--store postgres` scenarios compare: stint, graphile-worker
 * and pg-boss. Each gets its own fresh schema per run (dropped with CASCADE afterwards). Only the
 * database named by STINT_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/test) is used.
 *
 * Every system is driven the same way: an enqueuer (bulk and single submits) in the scenario's
 * process, and workers (bench/pg-worker-process.ts) in their own processes.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { z } from 'zod';
import { createClient, createPostgresStore, createWorker, defineTask } from '../src/index.js';
import { quietLogger } from './lib.js';

export const PG_URL = process.env.STINT_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const ALL_SYSTEMS = ['stint', 'graphile', 'pgboss'] as const;
export type SystemName = (typeof ALL_SYSTEMS)[number];

/**
 * The systems each scenario measures: all three, or those BENCH_PG_SYSTEMS names (for example
 * `stint` while profiling). Ratios need stint and graphile-worker both and are left out otherwise.
 */
export const SYSTEMS: readonly SystemName[] = (() => {
  const wanted = process.env.BENCH_PG_SYSTEMS?.split(',').filter(Boolean);
  if (!wanted?.length) return ALL_SYSTEMS;
  const unknown = wanted.filter((w) => !(ALL_SYSTEMS as readonly string[]).includes(w));
  if (unknown.length)
    throw new Error(`BENCH_PG_SYSTEMS: unknown ${unknown.join(', ')} (use ${ALL_SYSTEMS.join(', ')})`);
  return ALL_SYSTEMS.filter((s) => wanted.includes(s));
})();

export const QUEUE = 'noop';

/** A fresh schema name for one system in one run. */
export const freshSchema = (system: SystemName) =>
  `bench_${system}_${process.pid}_${randomBytes(3).toString('hex')}`;

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** A one-connection helper for checks and the bare round trips. */
export async function withPg<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** How many jobs the system has finished successfully, straight from its tables. */
export async function countDone(c: pg.Client, system: SystemName, schema: string, total: number) {
  if (system === 'stint') {
    const r = await c.query(`SELECT count(*)::int AS n FROM "${schema}".jobs WHERE state = 'succeeded'`);
    return r.rows[0].n as number;
  }
  if (system === 'graphile') {
    // graphile-worker deletes a job when it succeeds.
    const r = await c.query(`SELECT count(*)::int AS n FROM "${schema}"._private_jobs`);
    return total - (r.rows[0].n as number);
  }
  const r = await c.query(
    `SELECT count(*)::int AS n FROM "${schema}".job WHERE name = $1 AND state = 'completed'`,
    [QUEUE],
  );
  return r.rows[0].n as number;
}

/** How many jobs wait to run, straight from the system's tables. */
export async function countPending(c: pg.Client, system: SystemName, schema: string) {
  const sql =
    system === 'stint'
      ? `SELECT count(*)::int AS n FROM "${schema}".jobs WHERE state = 'pending'`
      : system === 'graphile'
        ? `SELECT count(*)::int AS n FROM "${schema}"._private_jobs`
        : `SELECT count(*)::int AS n FROM "${schema}".job WHERE name = '${QUEUE}' AND state = 'created'`;
  const r = await c.query(sql);
  return r.rows[0].n as number;
}

export interface Enqueuer {
  /** One call, one transaction, `inputs.length` jobs. */
  bulk(inputs: readonly object[]): Promise<void>;
  single(input: object): Promise<void>;
  close(): Promise<void>;
}

/** The no-op task for stint; `onRun` sees the input (scenario `pg-latency` puts its submit time there). */
export function stintTask(onRun: (input: unknown) => void = () => {}) {
  return defineTask({
    name: QUEUE,
    input: z.unknown(),
    run: (_ctx, input) => {
      onRun(input);
      return null;
    },
  });
}

/** graphile-worker's logger, silenced. */
export async function graphileQuietLogger() {
  const { Logger } = await import('graphile-worker');
  return new Logger(() => () => {});
}

/** Opens the system's enqueuer; this also creates (migrates) its schema. */
export async function openEnqueuer(system: SystemName, schema: string): Promise<Enqueuer> {
  if (system === 'stint') {
    const store = createPostgresStore({ connectionString: PG_URL, schema });
    const task = stintTask();
    const client = createClient({ store, tasks: [task] });
    await client.submitMany(task, []);
    return {
      bulk: async (inputs) => {
        await client.submitMany(task, inputs);
      },
      single: async (input) => {
        await client.submit(task, input);
      },
      close: async () => {
        await client.close();
        await store.close();
      },
    };
  }
  if (system === 'graphile') {
    const { makeWorkerUtils } = await import('graphile-worker');
    const utils = await makeWorkerUtils({
      connectionString: PG_URL,
      schema,
      logger: await graphileQuietLogger(),
    });
    await utils.migrate();
    return {
      bulk: async (inputs) => {
        await utils.addJobs(inputs.map((payload) => ({ identifier: QUEUE, payload })));
      },
      single: async (input) => {
        await utils.addJob(QUEUE, input);
      },
      close: async () => {
        await utils.release();
      },
    };
  }
  const { PgBoss } = await import('pg-boss');
  // The enqueuer only sends: no maintenance or cron in this process (the workers run them).
  const boss = new PgBoss({ connectionString: PG_URL, schema, supervise: false, schedule: false });
  boss.on('error', (err) => console.error('pg-boss', err));
  await boss.start();
  // `notify` lets a worker with useListenNotify wake on a NOTIFY (scenario pg-latency); it is off by default.
  await boss.createQueue(QUEUE, { notify: true });
  return {
    bulk: async (inputs) => {
      await boss.insert(
        QUEUE,
        inputs.map((data) => ({ data })),
      );
    },
    single: async (input) => {
      await boss.send(QUEUE, input);
    },
    close: () => boss.stop({ graceful: false }),
  };
}

/** A running worker of one system; `onRun` is called in each handler with the job's input. */
export interface RunningWorker {
  stop(): Promise<void>;
}

export interface WorkerSpec {
  concurrency: number;
  /** pg-boss: fetch this many per poll (localConcurrency 1). */
  batchSize: number;
  /** pg-boss: wake on NOTIFY (useListenNotify). */
  listen: boolean;
}

export async function startWorker(
  system: SystemName,
  schema: string,
  spec: WorkerSpec,
  onRun: (input: unknown) => void,
): Promise<RunningWorker> {
  if (system === 'stint') {
    const store = createPostgresStore({ connectionString: PG_URL, schema });
    const worker = createWorker({
      store,
      tasks: [stintTask(onRun)],
      concurrency: spec.concurrency,
      logger: quietLogger,
    });
    await worker.start();
    return {
      stop: async () => {
        await worker.stop({ timeout: '5s' });
        await store.close();
      },
    };
  }
  if (system === 'graphile') {
    const { run } = await import('graphile-worker');
    const runner = await run({
      connectionString: PG_URL,
      schema,
      concurrency: spec.concurrency,
      noHandleSignals: true,
      logger: await graphileQuietLogger(),
      taskList: {
        [QUEUE]: async (payload) => {
          onRun(payload);
        },
      },
    });
    return { stop: () => runner.stop() };
  }
  const { PgBoss } = await import('pg-boss');
  const boss = new PgBoss({ connectionString: PG_URL, schema, useListenNotify: spec.listen });
  boss.on('error', (err) => console.error('pg-boss', err));
  await boss.start();
  await boss.work<unknown>(
    QUEUE,
    // burstWhenBatchFull: without it a worker waits its poll interval (2 s) after every fetch,
    // full or not, so a drain would run at batchSize jobs per 2 s.
    { batchSize: spec.batchSize, localConcurrency: 1, burstWhenBatchFull: true },
    async (jobs) => {
      for (const job of jobs) onRun(job.data);
    },
  );
  return { stop: () => boss.stop({ graceful: false }) };
}
