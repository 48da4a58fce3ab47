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

/**
 * Runs one attempt of a job and says how it ended. The handler's promise races the job's abort
 * signal, so a timeout or cancel ends the attempt at once even if the handler ignores the signal.
 * Returns null when the lease was lost: another attempt owns the job, nothing is reported.
 */
export function execute(
  job: ClaimedJob,
  task: Task,
  controller: AbortController,
  env: ExecuteEnv,
): Promise<Completion | null> {
  const base = { id: job.id, attempt: job.attempt, workerId: env.workerId };
  const failure = (err: unknown, permanent = isPermanent(err)): Completion => ({
    ...base,
    outcome: 'failed',
    error: serializeError(err),
    retryDelayMs: retryDelayAfterFailure(job.retry, job.attemptsUsed, permanent),
  });

  return new Promise((resolve) => {
    let settled = false;
    let cancelTimeout: (() => void) | null = null;
    const { signal } = controller;

    const finish = (completion: Completion | null) => {
      if (settled) return;
      settled = true;
      cancelTimeout?.();
      signal.removeEventListener('abort', onAbort);
      resolve(completion);
    };

    const onAbort = () => {
      const reason: unknown = signal.reason;
      if (reason instanceof LeaseLostError) finish(null);
      else if (reason instanceof JobCancelledError)
        finish({ ...base, outcome: 'cancelled', reason: reason.message });
      else if (reason instanceof WorkerShutdownError)
        finish({ ...base, outcome: 'released', reason: reason.message });
      else finish(failure(reason, false));
    };
    signal.addEventListener('abort', onAbort, { once: true });

    if (job.timeoutMs !== null) {
      const ms = job.timeoutMs;
      cancelTimeout = env.clock.setTimer(
        () =>
          controller.abort(
            new JobTimeoutError(`attempt ${job.attempt} of job ${job.id} timed out after ${ms}ms`),
          ),
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
      return;
    }

    const ctx: TaskContext = {
      jobId: job.id,
      attempt: job.attempt,
      task: job.task,
      queue: job.queue,
      metadata: job.metadata,
      signal,
      log: createJobLogger(env.log),
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
  });
}
