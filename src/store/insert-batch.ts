import { StoreError } from '../core/errors.js';
import type { InsertedJob, NewJob } from './types.js';

/**
 * Coalesces single-job inserts into one transaction per event-loop turn: the submits that arrive
 * together (an HTTP server's requests of one turn, `Promise.all` of many `client.submit`) share one
 * commit instead of one each. Each job still gets its own outcome, exactly as if the jobs had been
 * inserted alone, one after the other in the order they were handed in: its own id, its own dedup
 * result (a later job with the same key gets the earlier one's id), its own `QueueFullError`.
 * A batch the store fails is inserted again job by job, so a bad job fails alone.
 */

/** What a batch gives each job: its row, or the error of that job alone (a full queue). */
export type BatchOutcome = InsertedJob | Error;

export interface InsertBatcherOptions {
  /** Inserts one job on its own: a batch of one, and each job again after a batch failed. */
  one(job: NewJob): Promise<InsertedJob>;
  /**
   * Inserts the jobs in one transaction, in order, each as if inserted alone: one outcome per job.
   * Throws, having stored nothing, when the transaction fails.
   */
  many(jobs: readonly NewJob[]): Promise<BatchOutcome[]>;
  /**
   * Whether a failed batch may have failed because of one of its jobs (a value the database
   * rejects); then each job is inserted again alone. Otherwise (the database is busy or gone)
   * every job gets the batch's error at once.
   */
  perJob(err: unknown): boolean;
  /** Batches in flight at once; jobs handed in meanwhile wait for the next. */
  maxInFlight: number;
  /**
   * Insert each job at once, without waiting for the turn's end, until one turn has seen several.
   * For a store whose insert completes before it returns (SQLite): jobs then stay in call order,
   * and a caller awaiting one submit after another never waits for a turn. A store whose insert
   * is a round trip (PostgreSQL) batches every time: a turn is nothing beside a round trip, and
   * concurrent submits keep their order.
   */
  directWhenQuiet: boolean;
}

export interface InsertBatcher {
  insert(job: NewJob): Promise<InsertedJob>;
  /** Resolves once every job handed in so far has its outcome (before the store closes). */
  drain(): Promise<void>;
}

/** At most this many jobs in one transaction, so that none holds the write lock for long. */
export const MAX_BATCH = 500;

/** Batches of one job in a row after which a `directWhenQuiet` batcher inserts at once again. */
const LONE_BATCHES_TO_DIRECT = 16;

interface Waiting {
  job: NewJob;
  resolve(row: InsertedJob): void;
  reject(err: unknown): void;
}

export function createInsertBatcher(options: InsertBatcherOptions): InsertBatcher {
  let waiting: Waiting[] = [];
  let scheduled = false;
  let inFlight = 0;
  /** Jobs handed straight to `one` and not yet settled. */
  let direct = 0;
  const idle: (() => void)[] = [];
  const settled = () => {
    if (inFlight === 0 && direct === 0 && waiting.length === 0) for (const done of idle.splice(0)) done();
  };

  /**
   * With `directWhenQuiet`, until a turn sees two submits, each goes to the store at once: a caller
   * that submits one job after another (`for (...) await client.submit(...)`) never waits for the
   * end of a turn. Once one turn has seen several, submits wait for their turn's batch, until
   * several batches in a row held only one job each.
   */
  let batching = !options.directWhenQuiet;
  let loneBatches = 0;
  let inTurn = 0;
  let watchingTurn = false;
  const endTurn = () => {
    watchingTurn = false;
    if (inTurn > 1) batching = true;
    inTurn = 0;
  };

  const schedule = () => {
    if (scheduled || waiting.length === 0 || inFlight >= options.maxInFlight) return;
    scheduled = true;
    // After the current turn's I/O callbacks: every request read in this turn joins the batch.
    setImmediate(flush);
  };

  const flush = () => {
    scheduled = false;
    const batch = waiting.length > MAX_BATCH ? waiting.splice(0, MAX_BATCH) : waiting;
    if (batch === waiting) waiting = [];
    loneBatches = batch.length === 1 ? loneBatches + 1 : 0;
    if (loneBatches >= LONE_BATCHES_TO_DIRECT && options.directWhenQuiet) batching = false;
    inFlight++;
    // run() settles every job of the batch and never rejects.
    void run(batch).then(() => {
      inFlight--;
      schedule();
      settled();
    });
  };

  async function run(batch: Waiting[]): Promise<void> {
    try {
      if (batch.length === 1) {
        const only = batch[0] as Waiting;
        only.resolve(await options.one(only.job));
        return;
      }
      let outcomes: BatchOutcome[];
      try {
        outcomes = await options.many(batch.map((w) => w.job));
      } catch (err) {
        if (!options.perJob(err)) throw err;
        // Nothing was stored: each job again, alone and in order, so only a bad one fails.
        for (const w of batch) await options.one(w.job).then(w.resolve, w.reject);
        return;
      }
      batch.forEach((w, i) => {
        const outcome = outcomes[i];
        if (outcome === undefined) w.reject(new StoreError(`the batch returned no outcome for its job ${i}`));
        else if (outcome instanceof Error) w.reject(outcome);
        else w.resolve(outcome);
      });
    } catch (err) {
      // A job already settled keeps its outcome; the others get this error.
      for (const w of batch) w.reject(err);
    }
  }

  return {
    insert(job) {
      if (!batching && waiting.length === 0) {
        inTurn++;
        if (!watchingTurn) {
          watchingTurn = true;
          setImmediate(endTurn);
        }
        direct++;
        return options.one(job).finally(() => {
          direct--;
          settled();
        });
      }
      return new Promise<InsertedJob>((resolve, reject) => {
        waiting.push({ job, resolve, reject });
        schedule();
      });
    },
    drain() {
      if (inFlight === 0 && direct === 0 && waiting.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idle.push(resolve));
    },
  };
}
