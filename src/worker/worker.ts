import { hostname } from 'node:os';
import { type Coordinator, createCoordinator } from '../coordinator/coordinator.js';
import { type Duration, parseDuration } from '../core/duration.js';
import { ClosedError, JobCancelledError, LeaseLostError, WorkerShutdownError } from '../core/errors.js';
import type { ClaimedJob, LogLevel, LogStream } from '../core/job.js';
import { addResources, type Resources } from '../core/placement.js';
import { trackResource } from '../internal/resources.js';
import { stintVersion } from '../internal/version.js';
import { yieldToEventLoop } from '../internal/yield.js';
import { outcomeOf } from '../metrics/observer.js';
import { openStore } from '../store/open.js';
import type { Completion, CompletionResult, StoreNotification } from '../store/types.js';
import { inputJsonSchema } from '../task/json-schema.js';
import { registrableConcurrency } from '../task/placement.js';
import { createClaimLoop } from './claim-loop.js';
import { type AttemptControl, execute } from './execute.js';
import { resolveWorkerOptions, type WorkerOptions } from './options.js';
import { createReporter } from './reporter.js';
import { createSandboxes } from './sandbox/index.js';

/**
 * A worker's life: `idle` (created) → `running` (claiming) → `draining` (no new claims, running
 * jobs finish) → `stopped`. `stop()` is idempotent; a stopped worker cannot start again.
 */
export type WorkerState = 'idle' | 'running' | 'draining' | 'stopped';

export interface Worker {
  readonly id: string;
  readonly state: WorkerState;
  /** Jobs executing now. */
  readonly running: number;
  /** Present when this worker runs coordinator duties. */
  readonly coordinator: Coordinator | null;
  start(): Promise<void>;
  /** Stops claiming, lets running jobs finish up to `timeout`, then aborts and hands them back. */
  stop(options?: { timeout?: Duration }): Promise<void>;
  /** `stop()`, then closes a store the worker opened. */
  close(): Promise<void>;
}

interface Active {
  job: ClaimedJob;
  control: AttemptControl;
  /** Still executing (holds a concurrency slot); false once its completion is queued. */
  executing: boolean;
  startedAt: number;
}

/**
 * Claiming ahead: on PostgreSQL a worker whose jobs are short keeps claims in flight while its
 * jobs run, holding up to 4 x `concurrency` jobs beyond its slots (claims of up to that size), so
 * slots never wait for a round trip and each statement carries more jobs. Jobs are short when
 * their recent average run time is at most this, so a job claimed ahead starts within about
 * 4 x this (20 ms); with longer jobs they would wait, so then a worker claims only for free slots.
 * (Measured on a 2-core machine with two claims in flight: factor 2 drains ~6,200 no-op jobs/s,
 * 4 ~8,200, 6 ~8,700.)
 */
const AHEAD_MAX_RUN_MS = 5;
const AHEAD_FACTOR = 4;

export function createWorker(options: WorkerOptions): Worker {
  const o = resolveWorkerOptions(options);
  const ownsStore = typeof options.store === 'string';
  const store =
    typeof options.store === 'string' ? openStore(options.store, { clock: o.clock }) : options.store;
  const { clock, logger } = o;
  const taskNames = [...o.tasks.keys()];
  const queueSet = new Set(o.queues);

  let state: WorkerState = 'idle';
  /** Jobs this worker holds a lease on and has started, until their completion is written. */
  const active = new Map<string, Active>();
  let executing = 0;
  /** Jobs claimed ahead, not started yet (leased too: renewed, released on stop). Claim order. */
  const ready: ClaimedJob[] = [];
  /**
   * What the jobs this worker holds (running or claimed ahead) take of its capacity, by
   * `<id>:<attempt>`: reserved when claimed, given back when the job leaves this worker.
   */
  const reserved = new Map<string, Resources>();
  const inUse: Resources = {};
  const reserve = (job: ClaimedJob) => {
    const amounts = job.placement?.resources;
    if (!amounts) return;
    reserved.set(`${job.id}:${job.attempt}`, amounts);
    addResources(inUse, amounts, 1);
  };
  const unreserve = (job: ClaimedJob) => {
    const key = `${job.id}:${job.attempt}`;
    const amounts = reserved.get(key);
    if (!amounts) return;
    reserved.delete(key);
    addResources(inUse, amounts, -1);
  };
  /** What a claim may take: capacity minus what held jobs use, and this worker's labels. */
  const offer = () => {
    const free = { ...o.capacity };
    addResources(free, inUse, -1);
    return { free, labels: o.labels };
  };
  /** Average run time of recent jobs (ms), or null before the first. */
  let averageRunMs: number | null = null;
  // SQLite has no round trips to hide.
  const mayClaimAhead = store.kind === 'postgres';
  const stopClaiming = new AbortController();
  const stopHeartbeats = new AbortController();
  let loopDone: Promise<void> = Promise.resolve();
  let heartbeatDone: Promise<void> = Promise.resolve();
  let starting: Promise<void> | null = null;
  let stopping: Promise<void> | null = null;
  let unsubscribe: (() => void) | null = null;
  let untrack: (() => void) | null = null;
  const coordinator = o.coordinator ? createCoordinator(store, o.coordinator) : null;
  /** Process and shell sandboxes (children are started when a job needs one). */
  const sandboxes = createSandboxes(logger);

  // Wake-ups: notifications and freed slots wake the claim loop (a delayed job's, when it is due).
  let cancelDelayedWake: (() => void) | null = null;
  let delayedWakeAt = Number.POSITIVE_INFINITY;
  const wake = () => claims.wake();
  const wakeAt = (at: number) => {
    if (at >= delayedWakeAt) return;
    cancelDelayedWake?.();
    delayedWakeAt = at;
    cancelDelayedWake = clock.setTimer(() => {
      delayedWakeAt = Number.POSITIVE_INFINITY;
      cancelDelayedWake = null;
      wake();
    }, at - clock.now());
  };

  const onResults = (results: CompletionResult[], completions: readonly Completion[]) => {
    results.forEach((r, i) => {
      const c = completions[i];
      if (c && active.get(c.id)?.job.attempt === c.attempt) active.delete(c.id);
      if (!r.applied) {
        logger.warn(
          { jobId: r.id, attempt: c?.attempt, state: r.state },
          'stint: completion rejected: the job is no longer running this attempt (its lease expired and it was retried or finished)',
        );
      }
    });
  };

  const reporter = createReporter({
    store,
    clock,
    logger,
    logFlushMs: o.logFlushMs,
    onResults,
    // A claim in flight takes the completions with it instead of a transaction of their own.
    holdCompletions: () => claims.claiming > 0,
  });

  const claims = createClaimLoop({
    store,
    reporter,
    clock,
    logger,
    request: { workerId: o.id, queues: o.queues, tasks: taskNames, leaseMs: o.leaseMs },
    concurrency: o.concurrency,
    pollMs: o.pollMs,
    pipelined: mayClaimAhead,
    held: () => executing + ready.length,
    claimAhead,
    offer,
    accept(jobs) {
      for (const job of jobs) reserve(job);
      ready.push(...jobs);
      startReady();
    },
    startReady,
    releaseAll,
  });

  function onNotification(n: StoreNotification): void {
    if (n.type === 'changed') wake();
    else if (n.type === 'jobs-available') {
      // No queues named: jobs in any queue (an insert the store could not name the queues of).
      if (n.queues.length > 0 && !n.queues.some((q) => queueSet.has(q))) return;
      if (n.earliestRunAt <= clock.now()) wake();
      else wakeAt(n.earliestRunAt);
    } else if (n.type === 'cancel-requested') {
      for (const id of n.ids) abortJob(id, new JobCancelledError('cancelled by request'));
    }
  }

  function abortJob(id: string, reason: Error): void {
    const a = active.get(id);
    if (a?.executing) a.control.abort(reason);
  }

  async function renew(jobs: { id: string; attempt: number }[]): Promise<void> {
    if (jobs.length === 0) return;
    const result = await store.extendLeases({ workerId: o.id, jobs, leaseMs: o.leaseMs });
    for (const id of result.lost) {
      const dropped = takeReady(id);
      if (dropped) unreserve(dropped);
      abortJob(
        id,
        new LeaseLostError(`job ${id}: this worker's lease expired and the job may be running elsewhere`),
      );
    }
    for (const id of result.cancelRequested) {
      const job = takeReady(id);
      if (job) {
        unreserve(job);
        reporter.complete({
          id,
          attempt: job.attempt,
          workerId: o.id,
          flow: job.flow,
          outcome: 'cancelled',
          reason: 'cancelled by request',
        });
      } else abortJob(id, new JobCancelledError('cancelled by request'));
    }
  }

  /** Removes a job claimed ahead from `ready`; returns it, or undefined when it is not there. */
  function takeReady(id: string): ClaimedJob | undefined {
    const i = ready.findIndex((j) => j.id === id);
    return i < 0 ? undefined : ready.splice(i, 1)[0];
  }

  /** Starts jobs claimed ahead while slots are free (not once the worker is stopping). */
  function startReady(): void {
    while (state === 'running' && executing < o.concurrency && ready.length > 0)
      startJob(ready.shift() as ClaimedJob);
  }

  /** How many jobs to hold beyond the slots: 4 x `concurrency` while jobs are short, else none. */
  function claimAhead(): number {
    return mayClaimAhead && averageRunMs !== null && averageRunMs <= AHEAD_MAX_RUN_MS
      ? AHEAD_FACTOR * o.concurrency
      : 0;
  }

  function startJob(job: ClaimedJob): void {
    const task = o.tasks.get(job.task);
    const previous = active.get(job.id);
    // We hold an older attempt of this job: its lease expired and the job came back to us.
    if (previous?.executing) {
      previous.control.abort(
        new LeaseLostError(`job ${job.id}: attempt ${previous.job.attempt} was superseded`),
      );
    }
    executing++;
    if (!task) {
      // Cannot happen: claims filter by task name. Hand it back rather than guess.
      reporter.complete({
        id: job.id,
        attempt: job.attempt,
        workerId: o.id,
        outcome: 'released',
        reason: 'no handler',
      });
      executing--;
      unreserve(job);
      return;
    }
    let logLines = 0;
    const log = (
      level: LogLevel,
      message: string,
      fields?: Record<string, unknown>,
      stream: LogStream = 'log',
    ) => {
      logLines++;
      if (logLines > o.maxLogLines) {
        if (logLines === o.maxLogLines + 1) {
          reporter.log({
            jobId: job.id,
            attempt: job.attempt,
            at: clock.now(),
            level: 'warn',
            stream: 'log',
            message: `log truncated: more than ${o.maxLogLines} lines in this attempt`,
            fields: null,
          });
        }
        return;
      }
      reporter.log({
        jobId: job.id,
        attempt: job.attempt,
        at: clock.now(),
        level,
        stream,
        message: String(message),
        fields: fields ?? null,
      });
    };
    const { control, done } = execute(job, task, {
      workerId: o.id,
      clock,
      log,
      progress: (doneCount, total) =>
        reporter.progress({ jobId: job.id, attempt: job.attempt, done: doneCount, total }),
      heartbeat: async () => {
        await renew([{ id: job.id, attempt: job.attempt }]);
        if (control.reason instanceof LeaseLostError) throw control.reason;
      },
      store,
      tasks: o.tasks,
      sandboxes,
    });
    const entry: Active = { job, control, executing: true, startedAt: clock.now() };
    active.set(job.id, entry);
    o.metrics?.started(job, entry.startedAt - job.createdAt);
    done.then(
      (completion) => finishJob(entry, completion),
      (err: unknown) => {
        logger.error({ err, jobId: job.id }, 'stint: internal error running a job');
        finishJob(entry, null);
      },
    );
  }

  function finishJob(entry: Active, completion: Completion | null): void {
    entry.executing = false;
    executing--;
    unreserve(entry.job);
    const ranMs = clock.now() - entry.startedAt;
    averageRunMs = averageRunMs === null ? ranMs : averageRunMs * 0.8 + ranMs * 0.2;
    if (completion) o.metrics?.finished(entry.job, outcomeOf(completion), ranMs);
    if (completion) reporter.complete(completion);
    else if (active.get(entry.job.id) === entry) active.delete(entry.job.id);
    startReady();
    wake();
  }

  /** Hands jobs this worker will not start back to the queue, without using up an attempt. */
  function releaseAll(jobs: readonly ClaimedJob[]): void {
    for (const job of jobs) {
      unreserve(job);
      reporter.complete({
        id: job.id,
        attempt: job.attempt,
        workerId: o.id,
        outcome: 'released',
        reason: 'worker stopping',
      });
    }
  }

  async function heartbeatLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await clock.sleep(o.heartbeatMs, signal);
      if (signal.aborted) break;
      const held = [...active.values(), ...ready.map((job) => ({ job }))].map((a) => ({
        id: a.job.id,
        attempt: a.job.attempt,
      }));
      try {
        await renew(held);
      } catch (err) {
        logger.error(
          { err, jobs: held.length },
          'stint: renewing leases failed; retrying at the next heartbeat',
        );
      }
      await announce();
    }
  }

  /** Writes this worker's entry in the registry (what it runs, has and uses); errors are logged. */
  async function announce(): Promise<void> {
    try {
      await store.heartbeatWorker({
        id: o.id,
        host: hostname(),
        pid: process.pid,
        version: stintVersion(),
        queues: o.queues,
        tasks: taskNames,
        labels: o.labels,
        capacity: o.capacity,
        inUse: { ...inUse },
        concurrency: o.concurrency,
        running: executing,
        heartbeatMs: o.heartbeatMs,
      });
    } catch (err) {
      logger.error(
        { err },
        'stint: writing this worker to the registry failed; retrying at the next heartbeat',
      );
    }
  }

  async function waitForRunningJobs(deadline: number): Promise<boolean> {
    while (executing > 0) {
      const left = deadline - clock.now();
      if (left <= 0) return false;
      // A finished job wakes the (stopped) claim loop's waiter.
      await claims.waitForWake(Math.min(left, 100));
    }
    return true;
  }

  async function doStop(timeoutMs: number): Promise<void> {
    if (state === 'idle') {
      state = 'stopped';
      return;
    }
    state = 'draining';
    stopClaiming.abort();
    await loopDone;
    cancelDelayedWake?.();
    if (!(await waitForRunningJobs(clock.now() + timeoutMs))) {
      logger.warn(
        { running: executing },
        'stint: shutdown timeout reached; aborting running jobs and handing them back',
      );
      for (const id of active.keys()) abortJob(id, new WorkerShutdownError('the worker is shutting down'));
      await yieldToEventLoop();
    }
    try {
      await sandboxes
        .close()
        .catch((err: unknown) => logger.error({ err }, 'stint: stopping sandbox processes failed'));
      await reporter.close();
    } finally {
      stopHeartbeats.abort();
      await heartbeatDone;
      unsubscribe?.();
      await coordinator?.stop();
      await store.stopWorker(o.id).catch((err: unknown) => {
        logger.error(
          { err },
          'stint: marking this worker stopped in the registry failed (it will be marked gone)',
        );
      });
      state = 'stopped';
      untrack?.();
    }
  }

  const worker: Worker = {
    id: o.id,
    get state() {
      return state;
    },
    get running() {
      return executing;
    },
    coordinator,
    start() {
      starting ??= (async () => {
        if (state !== 'idle') throw new ClosedError('this worker');
        // Let processes without the tasks' code submit them by name with the right defaults.
        await store.registerTasks(
          [...o.tasks.values()].map((t) => ({
            name: t.name,
            queue: t.queue,
            priority: t.priority,
            retry: t.retry,
            timeoutMs: t.timeoutMs,
            revertible: t.revert !== undefined,
            placement: t.placement,
            concurrency: registrableConcurrency(t.concurrency),
            inputSchema: inputJsonSchema(t.input),
            description: t.description ?? null,
          })),
        );
        if (stopping) return; // stopped while registering
        await announce();
        untrack = trackResource(`worker ${o.id}`);
        state = 'running';
        unsubscribe = store.subscribe(onNotification);
        coordinator?.start();
        loopDone = claims
          .run(stopClaiming.signal)
          .catch((err: unknown) => {
            logger.error({ err }, 'stint: the claim loop stopped on an unexpected error');
          })
          .finally(() => releaseAll(ready.splice(0)));
        heartbeatDone = heartbeatLoop(stopHeartbeats.signal);
      })();
      return starting;
    },
    stop(opts) {
      if (!stopping) {
        const timeoutMs = opts?.timeout === undefined ? o.shutdownMs : parseDuration(opts.timeout, 'timeout');
        stopping = doStop(timeoutMs);
      }
      return stopping;
    },
    async close() {
      try {
        await worker.stop();
      } finally {
        if (ownsStore) await store.close();
      }
    },
  };
  return worker;
}
