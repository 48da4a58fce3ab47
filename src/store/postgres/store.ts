import pg from 'pg';
import type { Clock } from '../../core/clock.js';
import { ClosedError, StintError, StoreError, ValidationError } from '../../core/errors.js';
import type { ClaimedJob } from '../../core/job.js';
import type { FlowJobOutcome } from '../../flow/engine.js';
import { trackResource } from '../../internal/resources.js';
import { createInsertBatcher } from '../insert-batch.js';
import type { QueueRow } from '../placement-rows.js';
import { retryParams, type TaskRow, toTaskDefaults } from '../rows.js';
import { sameTemplate } from '../rules.js';
import { taskDescriptionParams } from '../task-rows.js';
import type {
  ClaimRequest,
  CompletionBatch,
  CompletionResult,
  NewJob,
  Store,
  StoreListener,
  StoreNotification,
} from '../types.js';
import { pgAuthMethods } from './auth.js';
import { createDb, type Queryable, withConnection } from './db.js';
import { getFlowSteps, listFlows, readFlow, readFlowState } from './flow-read.js';
import { pgFlowStatements } from './flow-sql.js';
import { cancelFlow, flowJobsFinished, insertFlow } from './flows.js';
import { insertEach, isJobError } from './insert-batch.js';
import { createListener, type Listener } from './listen.js';
import { pgMetricsMethods } from './metrics.js';
import { migrate } from './migrate.js';
import { claimInTransaction } from './placement.js';
import { runPlacement } from './placement-sql.js';
import { cancelJob, getFlowLogs, getJob, getJobEvents, getJobLogs, listJobs, retryJob } from './read.js';
import { pgScheduleMethods } from './schedules.js';
import { pgStatements } from './sql.js';
import { pgStatsMethods } from './stats.js';
import { createPgPlacementMethods } from './workers.js';
import {
  claimJobs,
  completeJobs,
  expireLeases,
  extendLeases,
  insertJobs,
  isPlainSuccessBatch,
  recordStale,
  succeedAndClaim,
  type TxContext,
} from './write.js';

export interface PostgresStoreOptions {
  /** A `postgres://` URL. Give this or `pool`. */
  connectionString?: string;
  /**
   * Your own pool; the store uses it and leaves it open on close. One connection is held for LISTEN.
   * The store's own pool sets `plan_cache_mode = force_generic_plan` on its connections (claims
   * are then not re-planned each time); yours is left as it is.
   */
  pool?: pg.Pool;
  /**
   * The schema holding stint's tables (created if missing), so stint can share an application's database.
   * @default 'stint'
   */
  schema?: string;
  /** Connections in the pool the store creates. @default 10 */
  maxConnections?: number;
  /** How long to wait for a connection before failing with a clear error. @default 5000 */
  connectTimeoutMs?: number;
  /**
   * Judge time by this clock instead of the database's (tests). Without it every process, on
   * whatever machine, agrees on time because the database decides it.
   */
  clock?: Clock;
  /**
   * Single-job submits that arrive in one event-loop turn share one statement or transaction
   * (each still gets its own outcome); `false` sends each on its own.
   * @default true
   */
  batchSubmits?: boolean;
}

/** Safe for the schema name: the store quotes it, but stint also keeps it to a plain identifier. */
const SCHEMA = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * The PostgreSQL store: any number of processes on any number of machines share one database.
 * Claims use `FOR UPDATE SKIP LOCKED`; wake-ups travel by LISTEN/NOTIFY; lease expiry, `runAt`
 * and dedup windows are judged by the database's clock.
 */
export function createPostgresStore(options: PostgresStoreOptions): Store {
  const schema = options.schema ?? 'stint';
  if (!SCHEMA.test(schema))
    throw new StoreError(`schema must be a plain identifier (letters, digits, _), got ${schema}`);
  if (!options.pool && !options.connectionString) throw new StoreError('give a connectionString or a pool');
  const ownsPool = !options.pool;
  const pool =
    options.pool ??
    new pg.Pool({
      connectionString: options.connectionString,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    });
  // An idle pooled connection that dies (server restart) must not crash the process.
  const onPoolError = (err: Error) =>
    process.emitWarning(`stint: a PostgreSQL connection failed: ${err.message}`);
  pool.on('error', onPoolError);
  /** Connections of the store's own pool that have been set to plan statements once (see below). */
  const planned = new WeakSet<pg.PoolClient>();
  const configure = async (client: pg.PoolClient) => {
    if (!ownsPool || planned.has(client)) return;
    await forceGenericPlans(client);
    planned.add(client);
  };

  const db = createDb(schema, { ...pgStatements(schema), ...pgFlowStatements(schema) });
  const channel = `${schema}.jobs`;
  const where = describe(options.connectionString, schema);
  const clock = options.clock;
  const listeners = new Set<StoreListener>();
  let listener: Listener | null = null;
  let closed = false;
  const untrack = trackResource(`postgres store ${where}`);

  /**
   * The schema is migrated before the first statement. A failure (the database is down) is
   * reported to that caller and the next call tries again, so a store opened during an outage
   * recovers when the database comes back.
   */
  let migrated: Promise<void> | null = null;
  const ready = (): Promise<void> => {
    migrated ??= migrate(pool, schema, clock?.now() ?? Date.now()).catch((err: unknown) => {
      migrated = null;
      if ((err as { code?: string }).code === 'SCHEMA_TOO_NEW') throw err;
      throw new StoreError(`cannot use PostgreSQL at ${where}: ${(err as Error).message}`, { cause: err });
    });
    return migrated;
  };

  const publish = (n: StoreNotification) => {
    for (const l of listeners) l(n);
  };

  /**
   * Runs `fn` as one statement on the pool, without BEGIN/COMMIT round trips (autocommit). Only for
   * work that is a single statement and announces nothing other processes need besides the
   * trigger's NOTIFY: claims, lease renewals, plain inserts.
   */
  async function statement<R>(fn: (ctx: TxContext) => Promise<R>): Promise<R> {
    if (closed) throw new ClosedError('the store');
    await ready();
    const notes: StoreNotification[] = [];
    let result: R;
    try {
      result = await withConnection(pool, async (client) => {
        await configure(client);
        return fn({
          db,
          tx: client,
          now: clock?.now() ?? null,
          announce: (n) => notes.push(n),
          flowJobFinished: outsideTransaction,
          flushFlowJobs: async () => {},
        });
      });
    } catch (err) {
      throw wrap(err, where);
    }
    for (const n of notes) publish(n);
    return result;
  }

  /**
   * Runs `fn` in one transaction; announcements are published here and NOTIFYed to other processes.
   * A transaction chosen as a deadlock victim, or failing serialization, runs again from the start
   * (a few times): lease expiry and job cancels lock a job before its flow, completions the flow first.
   */
  async function transaction<R>(fn: (ctx: TxContext) => Promise<R>): Promise<R> {
    if (closed) throw new ClosedError('the store');
    await ready();
    for (let tries = 1; ; tries++) {
      const notes: StoreNotification[] = [];
      let result: R;
      try {
        result = await withConnection(pool, async (client) => {
          await configure(client);
          return attempt(client, fn, notes);
        });
      } catch (err) {
        if (tries < MAX_TRIES && RETRYABLE.has((err as { code?: string })?.code ?? '')) {
          await sleep(Math.random() * 10 * tries);
          continue;
        }
        throw wrap(err, where);
      }
      for (const n of notes) publish(n);
      return result;
    }
  }

  async function attempt<R>(
    client: pg.PoolClient,
    fn: (ctx: TxContext) => Promise<R>,
    notes: StoreNotification[],
  ): Promise<R> {
    const remote: string[] = [];
    const flowEvents: FlowJobOutcome[] = [];
    const ctx: TxContext = {
      db,
      tx: client,
      now: clock?.now() ?? null,
      announce: (n, notify = true) => {
        notes.push(n);
        const payload = notify ? toPayload(n) : null;
        if (payload !== null) remote.push(payload);
      },
      // Queued, and applied per flow at the end of the transaction (a batch at a time).
      flowJobFinished: async (event) => {
        flowEvents.push(event);
      },
      flushFlowJobs: async () => {
        if (flowEvents.length > 0) await flowJobsFinished(ctx, flowEvents.splice(0));
      },
    };
    try {
      // Inserts in this transaction are announced by it (`remote` below, or the insert statement
      // itself): the insert trigger stays quiet (migration 8).
      await client.query("BEGIN; SET LOCAL stint.notified = 'on'");
      const out = await fn(ctx);
      await ctx.flushFlowJobs();
      if (remote.length > 0) {
        await client.query(
          'SELECT pg_notify($1, p) FROM unnest($2::text[]) WITH ORDINALITY AS n(p, i) ORDER BY i',
          [channel, [...new Set(remote)]],
        );
      }
      await client.query('COMMIT');
      return out;
    } catch (err) {
      // The statement's error is the one to report; a failed rollback ends with the connection.
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  /**
   * Inserts with the caller's client, inside the caller's transaction: nothing is committed here.
   * Workers hear of the jobs through the insert statement's own NOTIFY, which PostgreSQL delivers
   * on commit.
   */
  async function insertInCallersTransaction(jobs: readonly NewJob[], tx: unknown) {
    if (closed) throw new ClosedError('the store');
    if (typeof (tx as Queryable | null)?.query !== 'function') {
      throw new ValidationError('options.tx must be a pg client inside an open transaction', [
        { path: 'options.tx', message: 'not a pg client' },
      ]);
    }
    await ready();
    const ctx: TxContext = {
      db,
      tx: tx as Queryable,
      now: clock?.now() ?? null,
      announce: () => {},
      flowJobFinished: outsideTransaction,
      flushFlowJobs: async () => {},
    };
    try {
      return await insertJobs(ctx, jobs);
    } catch (err) {
      throw wrap(err, where);
    }
  }

  /**
   * Plain successes and the next claim in one autocommit statement (write.ts `succeedAndClaim`);
   * completions found stale are recorded after it, in a transaction of their own.
   */
  async function hotPath(batch: CompletionBatch, req: ClaimRequest) {
    const out = await statement((ctx) => succeedAndClaim(ctx, batch, req, channel));
    if (out.stale.length === 0) return out;
    const stale = await transaction((ctx) => recordStale(ctx, out.stale));
    const byId = new Map(stale.map((r) => [r.id, r]));
    const results = batch.completions.map(
      (c) => out.results.find((r) => r.id === c.id) ?? (byId.get(c.id) as CompletionResult),
    );
    return { results, jobs: out.jobs };
  }

  /**
   * Queue limits, cached for a second: claims from rate-limited queues and submits to queues with
   * an admission limit take a transaction; the rest keep their one-statement paths. A limit set
   * in another process applies here within a second.
   */
  let limits: { at: number; rate: Set<string>; admission: Set<string> } | null = null;
  async function queueLimits(): Promise<{ rate: Set<string>; admission: Set<string> }> {
    const at = Date.now();
    if (limits && at - limits.at < 1000) return limits;
    const rows = await read((on) => runPlacement<QueueRow>(db, on, 'limitedQueues', []));
    limits = {
      at,
      rate: new Set(rows.filter((r) => r.rate_limit !== null).map((r) => r.name)),
      admission: new Set(rows.filter((r) => r.max_pending !== null).map((r) => r.name)),
    };
    return limits;
  }

  /**
   * Placed jobs are claimed in a transaction (placement.ts), before the one-statement claim takes
   * the plain ones. Whether to look: at every claim while the last look saw placed jobs (whether
   * they fitted or not) or after this process submitted one; otherwise once a second, so where
   * nobody places jobs the one-statement claim keeps its speed (jobs placed by other processes are
   * found within that second).
   */
  const placed = { checkAt: 0 };
  async function claimPlaced(req: ClaimRequest): Promise<{ jobs: ClaimedJob[]; rest: ClaimRequest }> {
    const { rate } = await queueLimits();
    const limited = req.queues.filter((q) => rate.has(q));
    const plainQueues = limited.length === 0 ? req.queues : req.queues.filter((q) => !rate.has(q));
    if (req.limit <= 0 || req.tasks.length === 0 || (limited.length === 0 && Date.now() < placed.checkAt))
      return { jobs: [], rest: { ...req, queues: plainQueues } };
    const out = await transaction((ctx) => claimInTransaction(ctx, req, limited));
    placed.checkAt = out.sawPlaced ? 0 : Date.now() + 1000;
    return { jobs: out.jobs, rest: { ...req, queues: plainQueues, limit: req.limit - out.jobs.length } };
  }

  async function read<R>(fn: (on: Queryable) => Promise<R>): Promise<R> {
    if (closed) throw new ClosedError('the store');
    await ready();
    try {
      return await fn(pool);
    } catch (err) {
      throw wrap(err, where);
    }
  }

  async function insertNow(jobs: readonly NewJob[]) {
    const { admission } = await queueLimits();
    return isOneStatement(jobs) && !jobs.some((j) => admission.has(j.queue))
      ? statement((ctx) => insertJobs(ctx, jobs))
      : transaction((ctx) => insertJobs(ctx, jobs, admission));
  }

  // Single submits of one event-loop turn share a statement or transaction (store/insert-batch.ts).
  const batchSubmits = options.batchSubmits ?? true;
  const batcher = createInsertBatcher({
    one: async (job) => {
      const [row] = await insertNow([job]);
      if (!row) throw new StoreError('the store returned no row for an inserted job');
      return row;
    },
    many: async (jobs) => {
      const { admission } = await queueLimits();
      return isOneStatement(jobs) && !jobs.some((j) => admission.has(j.queue))
        ? statement((ctx) => insertJobs(ctx, jobs))
        : transaction((ctx) => insertEach(ctx, jobs, admission));
    },
    perJob: isJobError,
    directWhenQuiet: false,
    maxInFlight: MAX_BATCHES_IN_FLIGHT,
  });

  return {
    kind: 'postgres',
    description: where,
    insertJobs: async (jobs, opts) => {
      if (jobs.some((j) => j.placement || j.concurrency)) placed.checkAt = 0;
      if (opts?.tx !== undefined) return insertInCallersTransaction(jobs, opts.tx);
      if (jobs.length === 1 && batchSubmits) return [await batcher.insert(jobs[0] as NewJob)];
      return insertNow(jobs);
    },
    claimJobs: async (req) => {
      const first = await claimPlaced(req);
      const rest = first.rest;
      if (rest.limit <= 0 || rest.queues.length === 0) return first.jobs;
      return byClaimOrder([...first.jobs, ...(await statement((ctx) => claimJobs(ctx, rest)))]);
    },
    completeJobs: async (batch) =>
      isPlainSuccessBatch(batch)
        ? (await hotPath(batch, NO_CLAIM)).results
        : transaction((ctx) => completeJobs(ctx, batch)),
    completeAndClaim: async (batch, req) => {
      const first = await claimPlaced(req);
      const rest = first.rest.queues.length === 0 ? { ...first.rest, limit: 0 } : first.rest;
      const out = isPlainSuccessBatch(batch)
        ? await hotPath(batch, rest)
        : await transaction(async (ctx) => ({
            results: await completeJobs(ctx, batch),
            jobs: await claimJobs(ctx, rest),
          }));
      return first.jobs.length === 0
        ? out
        : { results: out.results, jobs: byClaimOrder([...first.jobs, ...out.jobs]) };
    },
    extendLeases: (req) => statement((ctx) => extendLeases(ctx, req)),
    expireLeases: (req) => transaction((ctx) => expireLeases(ctx, req)),
    cancelJob: (id, reason) => transaction((ctx) => cancelJob(ctx, id, reason)),
    retryJob: (id) => transaction((ctx) => retryJob(ctx, id)),
    deleteFinishedJobs: ({ before, limit }) =>
      read(async (on) => {
        const [row] = await db.run<{ jobs: number; flows: number }>(on, 'deleteFinished', [before, limit]);
        return row && row.jobs > 0 ? row.jobs : (row?.flows ?? 0);
      }),
    acquireLease: (name, holder, ttlMs) =>
      read(async (on) => {
        const [row] = await db.run<{ term: number }>(on, 'acquireLease', [
          clock?.now() ?? null,
          name,
          holder,
          ttlMs,
        ]);
        return row ? row.term : null;
      }),
    releaseLease: (name, holder) =>
      read(async (on) => {
        await db.run(on, 'releaseLease', [name, holder]);
      }),
    registerTasks: (tasks) =>
      transaction(async (ctx) => {
        for (const t of tasks) {
          await db.run(ctx.tx, 'registerTask', [
            ctx.now,
            t.name,
            t.queue,
            t.priority,
            ...retryParams(t.retry),
            t.timeoutMs,
            t.revertible,
            t.placement ? JSON.stringify(t.placement) : null,
            t.concurrency ? JSON.stringify(t.concurrency) : null,
            ...taskDescriptionParams(t),
          ]);
        }
      }),
    getTaskDefaults: (name) =>
      read(async (on) => {
        const [row] = await db.run<TaskRow>(on, 'getTask', [name]);
        return row ? toTaskDefaults(row) : null;
      }),
    insertFlow: (flow) => transaction((ctx) => insertFlow(ctx, flow)),
    getFlow: (id) => read((on) => readFlow(db, on, id)),
    getFlowState: (id) => read((on) => readFlowState(db, on, id)),
    getFlowSteps: (id) => read((on) => getFlowSteps(db, on, id)),
    listFlows: (filter) => read((on) => listFlows(db, on, filter)),
    cancelFlow: (id, reason) => transaction((ctx) => cancelFlow(ctx, id, reason)),
    ...pgScheduleMethods({ db, transaction, read }),
    ...createPgPlacementMethods({
      db,
      now: () => clock?.now() ?? null,
      read,
      queuesChanged: () => {
        limits = null;
      },
    }),
    ...pgAuthMethods({ db, transaction, read }),
    ...pgMetricsMethods(db, read, () => clock?.now() ?? null),
    ...pgStatsMethods(db, read, () => clock?.now() ?? null),
    getJob: (id) => read((on) => getJob(db, on, id)),
    listJobs: (filter) => read((on) => listJobs(db, on, filter)),
    getJobEvents: (id) => read((on) => getJobEvents(db, on, id)),
    getJobLogs: (id, opts) => read((on) => getJobLogs(db, on, id, opts?.afterId, opts?.limit)),
    getFlowLogs: (id, opts) => read((on) => getFlowLogs(db, on, id, opts?.afterId, opts?.limit)),
    now: () =>
      read(async (on) => {
        const [row] = await db.run<{ now: number }>(on, 'now', [clock?.now() ?? null]);
        return row?.now ?? Date.now();
      }),
    subscribe(fn) {
      if (closed) throw new ClosedError('the store');
      listeners.add(fn);
      listener ??= createListener(pool, channel, publish, (err) =>
        process.emitWarning(
          `stint: listening for PostgreSQL notifications failed, retrying: ${(err as Error).message}`,
        ),
      );
      return () => {
        listeners.delete(fn);
      };
    },
    async close() {
      if (closed) return;
      // Submits already handed in are stored (or fail) before the pool ends.
      await batcher.drain();
      if (closed) return;
      closed = true;
      listeners.clear();
      await listener?.close();
      await migrated?.catch(() => undefined);
      pool.removeListener('error', onPoolError);
      if (ownsPool) await pool.end();
      untrack();
    },
  };
}

/**
 * Connections of a pool the store creates plan its prepared statements once (generic plans).
 * PostgreSQL otherwise keeps re-planning the claim for every call (its generic estimate of a
 * `LIMIT $n` looks worse than the custom plans), and planning costs as much as running it:
 * 0.4-1.5 ms per claim on a 2-core machine. Every statement the store prepares is an index
 * lookup whose plan does not depend on its values. A pool you pass in is left as it is.
 */
async function forceGenericPlans(client: pg.PoolClient): Promise<void> {
  // Servers before PostgreSQL 12 lack the setting; they keep their default.
  await client.query('SET plan_cache_mode = force_generic_plan').catch(() => undefined);
}

/** Batches of single submits in flight at once; the submits arriving meanwhile wait for the next. */
const MAX_BATCHES_IN_FLIGHT = 2;

const NO_CLAIM: ClaimRequest = { workerId: '', queues: [], tasks: [], limit: 0, leaseMs: 0 };

/** deadlock_detected, serialization_failure: the transaction may succeed when run again. */
const RETRYABLE = new Set(['40P01', '40001']);
const MAX_TRIES = 5;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Only transactions move flows on; single statements never finish a flow's job. */
function outsideTransaction(event: FlowJobOutcome): Promise<void> {
  return Promise.reject(new StoreError(`flow ${event.flowId} cannot move on outside a store transaction`));
}

/** Jobs that insertJobs writes with one statement: no dedup keys, one shared template. */
function isOneStatement(jobs: readonly NewJob[]): boolean {
  const first = jobs[0];
  return !!first && jobs.every((j) => !j.dedup && (j === first || sameTemplate(first, j)));
}

function byClaimOrder(jobs: ClaimedJob[]): ClaimedJob[] {
  return jobs.sort((a, b) => b.priority - a.priority || Number(a.id) - Number(b.id));
}

function toPayload(n: StoreNotification): string | null {
  const payload =
    n.type === 'jobs-available'
      ? `a:${n.queues.join(',')}${n.earliestRunAt > 0 ? `@${n.earliestRunAt}` : ''}`
      : n.type === 'jobs-finished'
        ? `f:${n.ids.join(',')}`
        : n.type === 'cancel-requested'
          ? `c:${n.ids.join(',')}`
          : n.type === 'flows-finished'
            ? `g:${n.ids.join(',')}`
            : null;
  // NOTIFY payloads are limited to 8000 bytes: a long list becomes a plain "something changed".
  if (payload !== null && payload.length > 7900) return 'x:';
  return payload;
}

/** The connection string without its password, for messages. */
function describe(connectionString: string | undefined, schema: string): string {
  if (!connectionString) return `postgres (your pool), schema ${schema}`;
  try {
    const url = new URL(connectionString);
    url.password = '';
    return `${url.toString()} (schema ${schema})`;
  } catch {
    return `postgres (schema ${schema})`;
  }
}

/** Everything the store throws is a StintError; database and connection errors become StoreErrors. */
function wrap(err: unknown, where: string): unknown {
  if (err instanceof StintError) return err;
  const code = (err as { code?: string })?.code;
  const message = (err as Error)?.message ?? String(err);
  if (
    code === 'ECONNREFUSED' ||
    code === 'ENOTFOUND' ||
    code === 'ETIMEDOUT' ||
    /timeout exceeded when trying to connect/i.test(message)
  ) {
    return new StoreError(`cannot reach PostgreSQL at ${where}: ${message}`, { cause: err });
  }
  return new StoreError(`PostgreSQL: ${message}`, { cause: err });
}
