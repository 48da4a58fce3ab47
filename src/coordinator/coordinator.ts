import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { type Clock, systemClock } from '../core/clock.js';
import { type Duration, parseDuration } from '../core/duration.js';
import { retryDelayAfterFailure } from '../core/retry.js';
import { defaultLogger, type Logger } from '../internal/logger.js';
import { trackResource } from '../internal/resources.js';
import { advanceBackfills } from '../schedule/backfill.js';
import { fireDueSchedules } from '../schedule/fire.js';
import type { ExpireLeasesRequest, Store } from '../store/types.js';

export interface CoordinatorOptions {
  /** How often the holder sweeps expired leases (and candidates try to take over). @default '1s' */
  sweepInterval?: Duration;
  /** How long the coordinator lease lasts without renewal; a dead holder is replaced after this. @default '5s' */
  leaseTtl?: Duration;
  /** Finished jobs (with events and logs) are deleted this long after they finish. @default '7d' */
  retention?: Duration;
  /** How often retention runs. @default '1m' */
  retentionInterval?: Duration;
  /** Fire schedules and move backfills on (when this process holds the lease). @default true */
  schedules?: boolean;
  /** @default `<host>:<pid>:<random>` */
  id?: string;
  clock?: Clock;
  logger?: Logger;
}

export interface Coordinator {
  readonly id: string;
  /** True while this process holds the coordinator lease. */
  isLeader(): boolean;
  /** The fencing term of the current lease, or null when not the leader. */
  term(): number | null;
  start(): void;
  /** Runs one round of duties now (tests and `stint` commands use it). */
  tick(): Promise<void>;
  stop(): Promise<void>;
}

export const COORDINATOR_LEASE = 'coordinator';
const SWEEP_BATCH = 500;
const decide: ExpireLeasesRequest['decide'] = (job) =>
  retryDelayAfterFailure(job.retry, job.attemptsUsed, false);
const RETENTION_BATCH = 1000;
/** How often the holder marks silent workers gone and checks that pending placed jobs can run somewhere. */
const WORKER_SWEEP_MS = 2000;

/**
 * The duties that must run once across all processes sharing a store: expiring leases and
 * retention, firing schedules and moving backfills on. Every process may run a coordinator; a lease in the store
 * elects one holder, and a new holder takes over when the old one stops renewing.
 */
export function createCoordinator(store: Store, options: CoordinatorOptions = {}): Coordinator {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? defaultLogger();
  const sweepMs = parseDuration(options.sweepInterval ?? '1s', 'coordinator.sweepInterval');
  const ttlMs = parseDuration(options.leaseTtl ?? '5s', 'coordinator.leaseTtl');
  const retentionMs = parseDuration(options.retention ?? '7d', 'coordinator.retention');
  const retentionEveryMs = parseDuration(options.retentionInterval ?? '1m', 'coordinator.retentionInterval');
  const id = options.id ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;

  let currentTerm: number | null = null;
  let nextRetentionAt = 0;
  let nextWorkerSweepAt = 0;
  const schedules = options.schedules ?? true;
  /** When the next schedule is due, by the store's clock, or null when none is. */
  let nextWake: number | null = null;
  let loop: Promise<void> | null = null;
  let stopper: AbortController | null = null;
  let untrack: (() => void) | null = null;

  async function fireSchedules(): Promise<void> {
    const now = await store.now();
    await fireDueSchedules(store, now, logger);
    await advanceBackfills(store, logger);
    nextWake = await store.nextScheduleWake();
  }

  async function duties(): Promise<void> {
    const term = await store.acquireLease(COORDINATOR_LEASE, id, ttlMs);
    if (term !== currentTerm) {
      if (term !== null) logger.info({ id, term }, 'stint: this process now runs the coordinator');
      currentTerm = term;
    }
    nextWake = null;
    if (term === null) return;
    if (schedules) await fireSchedules();
    for (;;) {
      const expired = await store.expireLeases({ limit: SWEEP_BATCH, decide });
      if (expired > 0)
        logger.info({ expired }, 'stint: expired leases of jobs whose worker stopped renewing them');
      if (expired < SWEEP_BATCH) break;
    }
    const now = clock.now();
    if (now >= nextWorkerSweepAt) {
      nextWorkerSweepAt = now + WORKER_SWEEP_MS;
      const swept = await store.sweepWorkers({ forgetMs: retentionMs });
      if (swept.gone > 0)
        logger.warn({ gone: swept.gone }, 'stint: workers stopped heartbeating and are marked gone');
      if (swept.unplaceable > 0)
        logger.warn(
          { jobs: swept.unplaceable },
          'stint: pending jobs no live worker of their queue can run (see their `unplaceable`)',
        );
    }
    if (now >= nextRetentionAt) {
      nextRetentionAt = now + retentionEveryMs;
      for (;;) {
        const deleted = await store.deleteFinishedJobs({ before: now - retentionMs, limit: RETENTION_BATCH });
        if (deleted < RETENTION_BATCH) break;
      }
    }
  }

  async function run(signal: AbortSignal): Promise<void> {
    let nextDuties = 0;
    while (!signal.aborted) {
      try {
        if (clock.now() >= nextDuties) {
          nextDuties = clock.now() + sweepMs;
          await duties();
        } else if (currentTerm !== null && schedules) {
          await fireSchedules();
        }
      } catch (err) {
        logger.error({ err }, 'stint: coordinator duties failed; trying again');
      }
      // Sleep until the next sweep, or the next schedule due before it (in the store's time).
      let wait = Math.max(0, nextDuties - clock.now());
      if (nextWake !== null) {
        try {
          // At least 10 ms: a schedule that stays due (its fence lost) must not spin the loop.
          wait = Math.min(wait, Math.max(10, nextWake - (await store.now())));
        } catch (err) {
          logger.warn({ err }, 'stint: could not read the store clock; sleeping until the next sweep');
        }
      }
      await clock.sleep(wait, signal);
    }
  }

  return {
    id,
    isLeader: () => currentTerm !== null,
    term: () => currentTerm,
    start() {
      if (loop) return;
      stopper = new AbortController();
      untrack = trackResource(`coordinator ${id}`);
      loop = run(stopper.signal);
    },
    tick: duties,
    async stop() {
      if (!loop) return;
      stopper?.abort();
      await loop;
      loop = null;
      if (currentTerm !== null) {
        currentTerm = null;
        try {
          await store.releaseLease(COORDINATOR_LEASE, id);
        } catch (err) {
          logger.warn(
            { err },
            'stint: could not release the coordinator lease; another process takes over when it expires',
          );
        }
      }
      untrack?.();
    },
  };
}
