import type { Clock } from '../core/clock.js';
import {
  isPermanent,
  JobCancelledError,
  JobTimeoutError,
  LeaseLostError,
  PermanentError,
  serializeError,
  WorkerShutdownError,
} from '../core/errors.js';
import type { ClaimedJob } from '../core/job.js';
import { retryDelayAfterFailure } from '../core/retry.js';
import type { Completion } from '../store/types.js';
import { createJobLogger, type LogSink, type TaskContext } from '../task/context.js';
import { type Task, toValidationError } from '../task/define.js';

/** What running one attempt needs from its worker. */
export interface ExecuteEnv {
  workerId: string;
  clock: Clock;
  log: LogSink;
  progress: (done: number, total: number | null) => void;
  heartbeat: () => Promise<void>;
}

/** Ends an attempt from outside: timeout, cancel, lost lease, shutdown. */
export interface AttemptControl {
  abort(reason: Error): void;
  /** Why the attempt was aborted, or null. */
  readonly reason: Error | null;
}

/**
 * Runs one attempt of a job and says how it ended. The handler races the attempt's abort, so a
 * timeout or cancel ends the attempt at once even if the handler ignores `ctx.signal`.
 * Resolves with null when the lease was lost: another attempt owns the job, nothing is reported.
 * The AbortController behind `ctx.signal` is made only when the handler reads it (most never do).
 */
export function execute(
  job: ClaimedJob,
  task: Task,
  env: ExecuteEnv,
): { control: AttemptControl; done: Promise<Completion | null> } {
  const base = { id: job.id, attempt: job.attempt, workerId: env.workerId };
  const failure = (err: unknown, permanent = isPermanent(err)): Completion => ({
    ...base,
    outcome: 'failed',
    error: serializeError(err),
    retryDelayMs: retryDelayAfterFailure(job.retry, job.attemptsUsed, permanent),
  });

  let controller: AbortController | null = null;
  let abortReason: Error | null = null;
  let settled = false;
  let cancelTimeout: (() => void) | null = null;
  let resolveDone: (completion: Completion | null) => void = () => {};
  const done = new Promise<Completion | null>((resolve) => {
    resolveDone = resolve;
  });

  const finish = (completion: Completion | null) => {
    if (settled) return;
    settled = true;
    cancelTimeout?.();
    resolveDone(completion);
  };

  const control: AttemptControl = {
    abort(reason) {
      if (abortReason || settled) return;
      abortReason = reason;
      controller?.abort(reason);
      if (reason instanceof LeaseLostError) finish(null);
      else if (reason instanceof JobCancelledError)
        finish({ ...base, outcome: 'cancelled', reason: reason.message });
      else if (reason instanceof WorkerShutdownError)
        finish({ ...base, outcome: 'released', reason: reason.message });
      else finish(failure(reason, false));
    },
    get reason() {
      return abortReason;
    },
  };

  if (job.timeoutMs !== null) {
    const ms = job.timeoutMs;
    cancelTimeout = env.clock.setTimer(
      () =>
        control.abort(new JobTimeoutError(`attempt ${job.attempt} of job ${job.id} timed out after ${ms}ms`)),
      ms,
    );
  }

  const parsed = task.input.safeParse(job.input);
  if (!parsed.success) {
    const error = toValidationError(
      `stored input of job ${job.id} does not match task ${task.name}`,
      parsed.error,
      'input',
    );
    finish(failure(error, true));
    return { control, done };
  }

  let log: TaskContext['log'] | null = null;
  const ctx: TaskContext = {
    jobId: job.id,
    attempt: job.attempt,
    task: job.task,
    queue: job.queue,
    metadata: job.metadata,
    get signal() {
      if (!controller) {
        controller = new AbortController();
        if (abortReason) controller.abort(abortReason);
      }
      return controller.signal;
    },
    get log() {
      log ??= createJobLogger(env.log);
      return log;
    },
    progress: (done, total) => env.progress(done, total ?? null),
    heartbeat: env.heartbeat,
  };

  Promise.resolve()
    .then(() => task.run(ctx, parsed.data as never))
    .then(
      (output) => {
        if (!task.output) return finish({ ...base, outcome: 'succeeded', output: output ?? null });
        const checked = task.output.safeParse(output);
        if (checked.success) return finish({ ...base, outcome: 'succeeded', output: checked.data ?? null });
        const err = toValidationError(
          `task ${task.name} returned output that fails its schema`,
          checked.error,
          'output',
        );
        finish(failure(new PermanentError(err.message, { cause: err }), true));
      },
      (err: unknown) => finish(failure(err)),
    );
  return { control, done };
}
