import { randomBytes } from 'node:crypto';
import { availableParallelism, hostname, totalmem } from 'node:os';
import type { CoordinatorOptions } from '../coordinator/coordinator.js';
import { type Clock, systemClock } from '../core/clock.js';
import { type Duration, parseDuration } from '../core/duration.js';
import { ValidationError } from '../core/errors.js';
import { checkLabels, checkResources, type Resources } from '../core/placement.js';
import { defaultLogger, type Logger } from '../internal/logger.js';
import type { JobObserver } from '../metrics/observer.js';
import type { Store } from '../store/types.js';
import { checkName, type Task } from '../task/define.js';

export interface WorkerOptions {
  /** A store, or where to open one; an opened one is closed with the worker. */
  store: Store | string;
  /** The tasks this worker runs; it claims only jobs of these tasks. */
  tasks: readonly Task[];
  /** Queues to take jobs from. @default the queues of `tasks` */
  queues?: readonly string[];
  /**
   * Jobs run at once. On PostgreSQL a worker whose jobs are short (≤ 5 ms on average) also holds up
   * to twice this many claimed jobs ready to start, so its next claim overlaps the running ones.
   * @default 10
   */
  concurrency?: number;
  /** @default `<host>:<pid>:<random>` */
  id?: string;
  /**
   * How long a claimed job stays this worker's without a renewal. A killed worker's jobs run
   * again elsewhere after at most this long plus one coordinator sweep.
   * @default '10s'
   */
  leaseDuration?: Duration;
  /** How often leases are renewed. @default a third of `leaseDuration` */
  heartbeatInterval?: Duration;
  /** How often to look for jobs when no wake-up arrives (other processes' submits, delayed jobs). @default '1s' */
  pollInterval?: Duration;
  /** How long `stop()` lets running jobs finish before aborting them. @default '30s' */
  shutdownTimeout?: Duration;
  /**
   * Run the coordinator duties (lease expiry, retention) in this process when it wins the
   * coordinator lease; `false` leaves them to other processes.
   * @default true
   */
  coordinator?: boolean | CoordinatorOptions;
  /**
   * What this worker has to give its jobs: the sum of the `resources` of the jobs it runs stays
   * within it. Any keys (`cpu`, `memoryMb`, `gpu`, `licenses`); a job asking for a key the
   * worker lacks never runs here.
   * @default { cpu: the machine's available parallelism, memoryMb: the machine's memory }
   */
  capacity?: Resources;
  /**
   * Labels jobs can require (`{ zone: 'eu-1', gpu: 'a100' }`).
   * @default { os: process.platform, arch: process.arch, host: the host name }, which these extend
   */
  labels?: Record<string, string>;
  /** Lines kept per attempt of a job; later ones are counted and dropped. @default 1000 */
  maxLogLines?: number;
  /** How long log lines and progress wait before they are written. @default '100ms' */
  logFlushInterval?: Duration;
  clock?: Clock;
  logger?: Logger;
  /** Hears about each attempt this worker starts and finishes (a server's `metrics`, for `/metrics`). */
  metrics?: JobObserver;
}

export interface ResolvedWorkerOptions {
  tasks: ReadonlyMap<string, Task>;
  capacity: Resources;
  labels: Record<string, string>;
  queues: readonly string[];
  concurrency: number;
  id: string;
  leaseMs: number;
  heartbeatMs: number;
  pollMs: number;
  shutdownMs: number;
  coordinator: CoordinatorOptions | null;
  maxLogLines: number;
  logFlushMs: number;
  clock: Clock;
  logger: Logger;
  metrics: JobObserver | null;
}

export function resolveWorkerOptions(options: WorkerOptions): ResolvedWorkerOptions {
  if (!options.tasks || options.tasks.length === 0) {
    throw new ValidationError('a worker needs at least one task', [{ path: 'tasks', message: 'empty' }]);
  }
  const tasks = new Map<string, Task>();
  for (const task of options.tasks) {
    if (tasks.has(task.name)) {
      throw new ValidationError(`task ${task.name} is given twice`, [
        { path: 'tasks', message: `duplicate ${task.name}` },
      ]);
    }
    tasks.set(task.name, task);
  }
  const queues = options.queues ?? [...new Set(options.tasks.map((t) => t.queue))];
  if (queues.length === 0)
    throw new ValidationError('queues must not be empty', [{ path: 'queues', message: 'empty' }]);
  for (const q of queues) checkName('queue', q, 'queues');
  const concurrency = options.concurrency ?? 10;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new ValidationError('concurrency must be a positive integer', [
      { path: 'concurrency', message: `got ${concurrency}` },
    ]);
  }
  const leaseMs = parseDuration(options.leaseDuration ?? '10s', 'leaseDuration');
  const heartbeatMs =
    options.heartbeatInterval === undefined
      ? Math.floor(leaseMs / 3)
      : parseDuration(options.heartbeatInterval, 'heartbeatInterval');
  if (leaseMs < 100 || heartbeatMs < 10 || heartbeatMs >= leaseMs) {
    throw new ValidationError('leaseDuration must be at least 100ms and heartbeatInterval shorter than it', [
      { path: 'heartbeatInterval', message: `lease ${leaseMs}ms, heartbeat ${heartbeatMs}ms` },
    ]);
  }
  const coordinator =
    options.coordinator === false
      ? null
      : options.coordinator === true || options.coordinator === undefined
        ? {}
        : options.coordinator;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? defaultLogger();
  return {
    tasks,
    capacity:
      options.capacity === undefined
        ? { cpu: availableParallelism(), memoryMb: Math.floor(totalmem() / 1024 / 1024) }
        : checkResources(options.capacity, 'capacity'),
    labels: {
      os: process.platform,
      arch: process.arch,
      host: hostname(),
      ...(options.labels === undefined ? {} : checkLabels(options.labels, 'labels')),
    },
    queues,
    concurrency,
    id: options.id ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`,
    leaseMs,
    heartbeatMs,
    pollMs: parseDuration(options.pollInterval ?? '1s', 'pollInterval'),
    shutdownMs: parseDuration(options.shutdownTimeout ?? '30s', 'shutdownTimeout'),
    coordinator: coordinator ? { clock, logger, ...coordinator } : null,
    maxLogLines: options.maxLogLines ?? 1000,
    logFlushMs: parseDuration(options.logFlushInterval ?? '100ms', 'logFlushInterval'),
    clock,
    logger,
    metrics: options.metrics ?? null,
  };
}
