import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { type Clock, systemClock } from '../../core/clock.js';
import { ClosedError, flowNotFound, StoreError, ValidationError } from '../../core/errors.js';
import { trackResource } from '../../internal/resources.js';
import { createInsertBatcher } from '../insert-batch.js';
import {
  type FlowLogRow,
  retryParams,
  type TaskRow,
  toFlowLogEntry,
  toRowId,
  toTaskDefaults,
} from '../rows.js';
import { taskDescriptionParams } from '../task-rows.js';
import type { NewJob, Store, StoreNotification } from '../types.js';
import { cancelJob, deleteFinishedJobs, retryJob } from './admin.js';
import { createSqliteAuth } from './auth.js';
import { AUTOCHECKPOINT_PAGES, createCheckpointer, JOURNAL_SIZE_LIMIT } from './checkpoint.js';
import { createSqliteFlows } from './flows.js';
import { insertEach, isJobError } from './insert-batch.js';
import { createSqliteMetrics } from './metrics.js';
import { migrate } from './migrate.js';
import { createSubscriptions, publish } from './notify.js';
import { preparePlacementStatements } from './placement-sql.js';
import { getJob, getJobEvents, getJobLogs, listJobs } from './read.js';
import { createScheduleMethods } from './schedule-methods.js';
import { prepareStatements } from './statements.js';
import { createSqliteStats } from './stats.js';
import { createSqlitePlacementMethods } from './workers.js';
import {
  claimJobs,
  completeJobs,
  expireLeases,
  extendLeases,
  insertJobs,
  type WriteContext,
} from './write.js';

export interface SqliteStoreOptions {
  /** A file path, or `':memory:'` for a private in-memory database (tests). */
  path: string;
  /** @default the system clock */
  clock?: Clock;
  /**
   * `normal` survives any process crash (WAL); `full` also survives power loss, at a cost of one
   * fsync per commit.
   * @default 'normal'
   */
  synchronous?: 'normal' | 'full';
  /**
   * How long a write waits for another process's write lock before failing.
   * @default 5000
   */
  busyTimeoutMs?: number;
  /**
   * Single-job submits that arrive in one event-loop turn share one transaction (each still gets
   * its own outcome); `false` commits each on its own.
   * @default true
   */
  batchSubmits?: boolean;
}

let memoryStores = 0;

/**
 * The embedded store: one SQLite file in WAL mode. Several processes on one machine may share the
 * file; every write is one `BEGIN IMMEDIATE` transaction.
 */
export function createSqliteStore(options: SqliteStoreOptions): Store {
  const clock = options.clock ?? systemClock;
  const memory = options.path === ':memory:';
  const file = memory ? null : resolve(options.path);
  if (file) mkdirSync(dirname(file), { recursive: true });

  let db: Database.Database;
  try {
    db = new Database(file ?? ':memory:', { timeout: options.busyTimeoutMs ?? 5000 });
    if (!memory) db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    db.pragma('foreign_keys = OFF');
    if (!memory) {
      // Checkpoints between bursts of writes (checkpoint.ts); SQLite's own is only a backstop.
      db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
      db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT}`);
    }
    migrate(db, clock.now());
  } catch (err) {
    if (err instanceof StoreError || (err as { code?: string }).code === 'SCHEMA_TOO_NEW') throw err;
    throw new StoreError(`cannot open the SQLite database at ${options.path}: ${(err as Error).message}`, {
      cause: err,
    });
  }

  const stmts = prepareStatements(db);
  const placement = preparePlacementStatements(db);
  const dataVersion = db.prepare('PRAGMA data_version').pluck();
  const listCache = new Map<string, Database.Statement>();
  const channel = file ?? `memory:${memoryStores++}`;
  let closed = false;
  const untrack = trackResource(`sqlite store ${options.path}`);
  const checkpoints = memory
    ? null
    : createCheckpointer(db, (err) =>
        process.emitWarning(`stint: checkpointing ${options.path} failed: ${(err as Error).message}`),
      );

  const pending: StoreNotification[] = [];
  const ctx: WriteContext = {
    stmts,
    now: () => clock.now(),
    announce: (n) => pending.push(n),
    flowJobFinished: (event) => flows.jobFinished(event),
    flushFlowJobs: () => flows.flushJobEvents(),
    placement,
  };
  const flows = createSqliteFlows(db, ctx);
  const schedules = createScheduleMethods(db, ctx, flows, write, read);

  const subscriptions = createSubscriptions(
    channel,
    file,
    () => dataVersion.get() as number,
    (err) => {
      // A broken watcher only costs latency: workers keep polling.
      process.emitWarning(`stint: watching ${options.path} for changes failed: ${(err as Error).message}`);
    },
  );

  /**
   * Runs `fn` in one immediate transaction, then publishes what it announced. With
   * `transaction: false`, for work that is one statement, it runs in autocommit (the statement is
   * atomic on its own; BEGIN and COMMIT were most of a single submit's cost).
   */
  function write<A extends unknown[], R>(
    fn: (...args: A) => R,
    options: { transaction: boolean } = { transaction: true },
  ): (...args: A) => Promise<R> {
    // Flow jobs that ended in the transaction move their flows on at its end, a batch at a time.
    const tx = options.transaction
      ? db.transaction((...args: A) => {
          const result = fn(...args);
          flows.flushJobEvents();
          return result;
        })
      : null;
    return (...args: A) => {
      if (closed) return Promise.reject(new ClosedError('the store'));
      let result: R;
      try {
        result = tx ? tx.immediate(...args) : fn(...args);
      } catch (err) {
        pending.length = 0;
        flows.discard();
        return Promise.reject(wrap(err));
      }
      checkpoints?.wrote();
      const ended = flows.takeFinished();
      if (ended.length > 0) publish(channel, { type: 'flows-finished', ids: ended });
      if (pending.length > 0) {
        const notes = pending.splice(0);
        for (const n of notes) publish(channel, n);
      }
      return Promise.resolve(result);
    };
  }

  function read<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => Promise<R> {
    return (...args: A) => {
      if (closed) return Promise.reject(new ClosedError('the store'));
      try {
        return Promise.resolve(fn(...args));
      } catch (err) {
        return Promise.reject(wrap(err));
      }
    };
  }

  const insertIntoSqlite = write((jobs: readonly NewJob[]) => insertJobs(ctx, jobs));
  // One job without a dedup key is one INSERT statement.
  // Only for a queue without an admission limit (checked by the caller just before).
  const insertOneStatement = write((jobs: readonly NewJob[]) => insertJobs(ctx, jobs, { admission: false }), {
    transaction: false,
  });
  const insertAlone = async (job: NewJob) => {
    const [row] = await (!job.dedup && !placement.admission.get(job.queue)
      ? insertOneStatement([job])
      : insertIntoSqlite([job]));
    if (!row) throw new StoreError('the store returned no row for an inserted job');
    return row;
  };
  // Single submits of one event-loop turn share a transaction (store/insert-batch.ts).
  const batchSubmits = options.batchSubmits ?? true;
  const batcher = createInsertBatcher({
    one: insertAlone,
    many: write((jobs: readonly NewJob[]) => insertEach(ctx, jobs)),
    perJob: isJobError,
    directWhenQuiet: true,
    maxInFlight: 1,
  });

  return {
    kind: 'sqlite',
    description: `sqlite:${options.path}`,
    insertJobs: (jobs, opts) =>
      opts?.tx === undefined
        ? jobs.length === 1
          ? (batchSubmits ? batcher.insert(jobs[0] as NewJob) : insertAlone(jobs[0] as NewJob)).then(
              (row) => [row],
            )
          : insertIntoSqlite(jobs)
        : Promise.reject(
            new ValidationError('options.tx (transactional submit) needs the PostgreSQL store', [
              { path: 'options.tx', message: 'not supported by SQLite' },
            ]),
          ),
    claimJobs: write((req) => claimJobs(ctx, req)),
    completeJobs: write((batch) => completeJobs(ctx, batch)),
    completeAndClaim: write((batch, req) => ({
      results: completeJobs(ctx, batch),
      jobs: claimJobs(ctx, req),
    })),
    extendLeases: write((req) => extendLeases(ctx, req)),
    expireLeases: write((req) => expireLeases(ctx, req)),
    cancelJob: write((id: string, reason: string) => cancelJob(ctx, id, reason)),
    retryJob: write((id: string) => retryJob(ctx, id)),
    deleteFinishedJobs: write(({ before, limit }) => deleteFinishedJobs(ctx, before, limit)),
    acquireLease: write((name: string, holder: string, ttlMs: number) => {
      const now = clock.now();
      const row = stmts.acquireLease.get(name, holder, now + ttlMs, now) as { term: number } | undefined;
      return row ? row.term : null;
    }),
    releaseLease: write((name: string, holder: string) => {
      stmts.releaseLease.run(name, holder);
    }),
    registerTasks: write((tasks) => {
      const now = clock.now();
      for (const t of tasks)
        stmts.registerTask.run(
          t.name,
          t.queue,
          t.priority,
          ...retryParams(t.retry),
          t.timeoutMs,
          now,
          t.revertible ? 1 : 0,
          t.placement ? JSON.stringify(t.placement) : null,
          t.concurrency ? JSON.stringify(t.concurrency) : null,
          ...taskDescriptionParams(t),
        );
    }),
    ...schedules,
    ...createSqliteAuth(db, write, read),
    ...createSqliteMetrics(db, read, () => clock.now()),
    ...createSqliteStats(db, read, () => clock.now()),
    ...createSqlitePlacementMethods(placement, clock, write, read),
    insertFlow: write((flow) => flows.insertFlow(flow)),
    getFlow: read((id: string) => flows.getFlow(id)),
    getFlowState: read((id: string) => flows.getFlowState(id)),
    getFlowSteps: read((id: string) => flows.getFlowSteps(id)),
    listFlows: read((filter) => flows.listFlows(filter)),
    cancelFlow: write((id: string, reason: string) => {
      const flow = flows.cancelFlow(id, reason);
      if (!flow) throw flowNotFound(id);
      return flow;
    }),
    getTaskDefaults: read((name: string) => {
      const row = stmts.getTask.get(name) as TaskRow | undefined;
      return row ? toTaskDefaults(row) : null;
    }),
    getJob: read((id: string) => getJob(stmts, id)),
    listJobs: read((filter) => listJobs(db, listCache, filter)),
    getJobEvents: read((id: string) => getJobEvents(stmts, id)),
    getFlowLogs: read((id: string, opts?: { afterId?: number; limit?: number }) => {
      const rowId = toRowId(id);
      if (rowId === null) return [];
      return (stmts.flowLogs.all(rowId, opts?.afterId ?? 0, opts?.limit ?? 1000) as FlowLogRow[]).map(
        toFlowLogEntry,
      );
    }),
    getJobLogs: read((id: string, opts?: { afterId?: number; limit?: number }) =>
      getJobLogs(stmts, id, opts?.afterId, opts?.limit),
    ),
    now: () => Promise.resolve(clock.now()),
    subscribe: (listener) => {
      if (closed) throw new ClosedError('the store');
      return subscriptions.subscribe(listener);
    },
    async close() {
      if (closed) return;
      // Submits already handed in are stored (or fail) before the database closes.
      await batcher.drain();
      if (closed) return;
      closed = true;
      subscriptions.close();
      checkpoints?.close();
      db.close();
      untrack();
    },
  };
}

function wrap(err: unknown): unknown {
  if (
    err instanceof Error &&
    'code' in err &&
    typeof err.code === 'string' &&
    err.code.startsWith('SQLITE_')
  ) {
    return new StoreError(`SQLite: ${err.message}`, { cause: err });
  }
  return err;
}
