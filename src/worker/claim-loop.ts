import type { Clock } from '../core/clock.js';
import type { ClaimedJob } from '../core/job.js';
import type { WorkerOffer } from '../core/placement.js';
import type { Logger } from '../internal/logger.js';
import { yieldToEventLoop } from '../internal/yield.js';
import type { ClaimRequest, Store } from '../store/types.js';
import type { Reporter } from './reporter.js';

/** Claims a PostgreSQL worker keeps in flight at once while it has a backlog of short jobs. */
const MAX_CLAIMS_IN_FLIGHT = 2;

export interface ClaimLoopOptions {
  store: Store;
  reporter: Reporter;
  clock: Clock;
  logger: Logger;
  /** What every claim names: the worker, its queues and tasks, the lease it asks for. */
  request: Pick<ClaimRequest, 'workerId' | 'queues' | 'tasks' | 'leaseMs'>;
  concurrency: number;
  pollMs: number;
  /**
   * Up to two claims in flight while the last came back full (PostgreSQL, where a claim is a
   * round trip); otherwise one at a time (SQLite, where a claim is back before the next turn).
   */
  pipelined: boolean;
  /** Jobs this worker holds: running, plus claimed ahead and not started yet. */
  held(): number;
  /** How many jobs to hold beyond the slots (0 unless jobs are short). */
  claimAhead(): number;
  /** What a claim may take: capacity minus what held jobs use, and this worker's labels. */
  offer(): WorkerOffer;
  /** Takes the jobs a claim brought: reserves what they use, queues them and starts what fits. */
  accept(jobs: ClaimedJob[]): void;
  /** Starts jobs claimed ahead while slots are free. */
  startReady(): void;
  /** Hands jobs this worker will not start back to the queue, without using up an attempt. */
  releaseAll(jobs: readonly ClaimedJob[]): void;
}

export interface ClaimLoop {
  /** Claims until `signal` aborts; resolves once no claim is in flight any more. */
  run(signal: AbortSignal): Promise<void>;
  /** Something may be claimable now (a notification, a freed slot): the loop claims again. */
  wake(): void;
  /** Waits for a wake-up, `ms`, or `signal`; true when the time ran out. */
  waitForWake(ms: number, signal?: AbortSignal): Promise<boolean>;
  /** Claims in flight: completions wait to go with them instead of a commit of their own. */
  readonly claiming: number;
}

/**
 * The worker's claim loop. A claim carries the completions reported since the last one (one
 * statement or transaction for both) and asks for at most the room left: free slots, plus
 * `claimAhead()` more while jobs are short.
 */
export function createClaimLoop(o: ClaimLoopOptions): ClaimLoop {
  const { store, reporter, clock, logger } = o;
  /** Set by a wake-up; the loop claims again when it is set. */
  let wakeFlag = false;
  let wakeResolve: (() => void) | null = null;
  let claiming = 0;
  /** How many jobs the claims in flight may bring back between them. */
  let claimingLimit = 0;
  /** Claim failures in a row; each retry waits twice as long as the last, up to 5 s. */
  let claimFailures = 0;
  const claimRetryMs = () => Math.min(5000, 100 * 2 ** claimFailures);

  const wake = () => {
    wakeFlag = true;
    wakeResolve?.();
  };

  function waitForWake(ms: number, signal?: AbortSignal): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const cancel = clock.setTimer(() => done(true), ms);
      const onAbort = () => done(false);
      function done(timedOut: boolean) {
        cancel();
        signal?.removeEventListener('abort', onAbort);
        wakeResolve = null;
        resolve(timedOut);
      }
      wakeResolve = () => done(false);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * One claim of up to `limit` jobs. The jobs it brings are accepted (or handed straight back when
   * the worker stopped meanwhile). Resolves to how many jobs it brought, or null when it failed:
   * the error is logged and its completions go with the next claim.
   */
  async function claimBatch(limit: number, offer: WorkerOffer, signal: AbortSignal): Promise<number | null> {
    const request = { ...o.request, limit, offer };
    const report = reporter.pendingCompletions() > 0 ? reporter.take() : null;
    claiming++;
    claimingLimit += limit;
    let jobs: ClaimedJob[];
    try {
      if (report) {
        const out = await store.completeAndClaim(report, request);
        reporter.written(out.results, report.completions);
        jobs = out.jobs;
      } else {
        jobs = await store.claimJobs(request);
      }
      claimFailures = 0;
    } catch (err) {
      if (report) reporter.putBack(report);
      claimFailures++;
      logger.error({ err, failures: claimFailures }, 'stint: claiming jobs failed; retrying');
      return null;
    } finally {
      claiming--;
      claimingLimit -= limit;
      // Completions that came in meanwhile go with the next claim, or on their own if none comes.
      reporter.holdEnded();
    }
    if (signal.aborted) {
      // Stopped while claiming: hand the jobs straight back.
      o.releaseAll(jobs);
      return 0;
    }
    o.accept(jobs);
    return jobs.length;
  }

  /**
   * One claim at a time. After a claim that came back full it claims again at once, before the
   * jobs it got have run: with jobs claimed ahead, the next claim is in flight while they run.
   * After a short claim it waits for a wake-up (a notification, a finished job) or the poll.
   */
  async function oneAtATime(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      o.startReady();
      // A claim ahead asks for at most `ahead` jobs, so it leaves room for the next one.
      const ahead = o.claimAhead();
      const limit = Math.min(ahead || o.concurrency, o.concurrency + ahead - o.held());
      if (limit > 0) {
        wakeFlag = false;
        const got = await claimBatch(limit, o.offer(), signal);
        if (got === null) {
          await clock.sleep(claimRetryMs(), signal);
          continue;
        }
        if (got > 0) {
          if (got === limit) {
            // Claiming ahead: the next claim goes out before these jobs run (its await yields).
            if (ahead === 0) await yieldToEventLoop();
            continue;
          }
          await yieldToEventLoop();
        }
      }
      if (wakeFlag) {
        await yieldToEventLoop();
        continue;
      }
      if (signal.aborted) break;
      await waitForWake(o.pollMs, signal);
    }
  }

  /**
   * As `oneAtATime`, but while the last claim came back full (a backlog) and jobs are short, a
   * second claim goes out before the first is back, on another pooled connection: the database
   * runs one claim while this process runs the other's jobs, instead of each waiting for the
   * other. Claims run on their own and wake this loop when they are back; `wakeFlag` here means
   * "claim again": set by a wake-up, a full claim, a failure, the poll.
   */
  async function pipelined(signal: AbortSignal): Promise<void> {
    const claims = new Set<Promise<void>>();
    let backlog = false;
    let retryAt = 0;
    wakeFlag = true;
    while (!signal.aborted) {
      o.startReady();
      const ahead = o.claimAhead();
      const room = o.concurrency + ahead - o.held() - claimingLimit;
      const limit = Math.min(ahead || o.concurrency, room);
      const now = clock.now();
      const first = claiming === 0 && wakeFlag;
      const second = claiming > 0 && claiming < MAX_CLAIMS_IN_FLIGHT && backlog && ahead > 0;
      if (limit > 0 && now >= retryAt && (first || second)) {
        wakeFlag = false;
        // Two claims at once must not both spend the free resources: the second offers none.
        const offer = claiming === 0 ? o.offer() : { free: {}, labels: o.offer().labels };
        const claim = claimBatch(limit, offer, signal)
          .then((got) => {
            if (got === null) {
              retryAt = clock.now() + claimRetryMs();
              backlog = false;
            } else backlog = got === limit;
            if (got === null || backlog) wakeFlag = true;
            wakeResolve?.();
          })
          .catch((err: unknown) => logger.error({ err }, 'stint: handling claimed jobs failed unexpectedly'))
          .finally(() => claims.delete(claim));
        claims.add(claim);
        continue;
      }
      const waitMs = retryAt > now ? Math.min(o.pollMs, retryAt - now) : o.pollMs;
      if (await waitForWake(waitMs, signal)) wakeFlag = true;
      // Let jobs that finish at once report first, so the next claim carries their completions.
      await yieldToEventLoop();
    }
    await Promise.all(claims);
  }

  return {
    run: (signal) => (o.pipelined ? pipelined(signal) : oneAtATime(signal)),
    wake,
    waitForWake,
    get claiming() {
      return claiming;
    },
  };
}
