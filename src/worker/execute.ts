import type { Clock } from '../core/clock.js';
import {
  FlowReferenceError,
  flowNotFound,
  isPermanent,
  JobCancelledError,
  JobTimeoutError,
  LeaseLostError,
  PermanentError,
  serializeError,
  WorkerShutdownError,
} from '../core/errors.js';
import type { ClaimedJob, JobFlowRef } from '../core/job.js';
import { retryDelayAfterFailure } from '../core/retry.js';
import { type MapOptions, type Ref, StepCollector, type StepOptions } from '../flow/builder.js';
import { prepareSteps } from '../flow/prepare.js';
import { referencedSteps } from '../flow/resolve.js';
import type { FlowRecord, NewStep } from '../flow/types.js';
import type { Completion, Store } from '../store/types.js';
import { createJobLogger, type FlowContext, type LogSink, type TaskContext } from '../task/context.js';
import { type Task, toValidationError } from '../task/define.js';
import { type ResolvedSandbox, sandboxForJob } from '../task/sandbox.js';
import type { Sandboxes } from './sandbox/index.js';

/** What running one attempt needs from its worker. */
export interface ExecuteEnv {
  workerId: string;
  clock: Clock;
  log: LogSink;
  progress: (done: number, total: number | null) => void;
  heartbeat: () => Promise<void>;
  /** Reads for `ctx.flow`. */
  store: Pick<Store, 'getFlow' | 'getFlowSteps'>;
  /** The worker's tasks, by name (steps added by name use them). */
  tasks: ReadonlyMap<string, Task>;
  /** Where jobs whose sandbox is not `inline` run. */
  sandboxes?: Sandboxes;
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
  const base = { id: job.id, attempt: job.attempt, workerId: env.workerId, flow: job.flow };
  const where = job.flow ? `step ${job.flow.step} of flow ${job.flow.id} (job ${job.id})` : `job ${job.id}`;
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

  const reverting = job.flow?.role === 'revert';
  const stored = reverting ? (job.input as { input?: unknown } | null)?.input : job.input;
  const parsed = task.input.safeParse(stored);
  if (!parsed.success) {
    const error = toValidationError(
      `input of ${where} does not match task ${task.name}`,
      parsed.error,
      'input',
    );
    finish(failure(error, true));
    return { control, done };
  }
  let sandbox: ResolvedSandbox;
  try {
    sandbox = sandboxForJob(task.sandbox, job.sandbox ?? null);
  } catch (err) {
    finish(failure(err, true));
    return { control, done };
  }
  // Steps can be added only from the worker's own process.
  const flow = job.flow && !reverting && sandbox.kind === 'inline' ? createFlowContext(job.flow, env) : null;

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
    flow: flow?.context ?? null,
  };

  const succeed = async (output: unknown): Promise<Completion> => {
    const added = flow ? await flow.added() : [];
    return added.length > 0
      ? { ...base, outcome: 'succeeded', output: output ?? null, added }
      : { ...base, outcome: 'succeeded', output: output ?? null };
  };

  Promise.resolve()
    .then(() => {
      const output = reverting ? ((job.input as { output?: unknown }).output ?? null) : undefined;
      if (reverting && !task.revert)
        throw new PermanentError(
          `task ${task.name} defines no revert in this worker, so ${where} cannot be reverted`,
        );
      if (sandbox.kind !== 'inline') {
        if (!env.sandboxes)
          throw new PermanentError(`no ${sandbox.kind} sandbox in this worker for ${where}`);
        return env.sandboxes.run({
          job,
          task,
          settings: sandbox,
          role: reverting ? 'revert' : 'run',
          input: parsed.data,
          output,
          log: (stream, level, message, fields) => env.log(level, message, fields ?? undefined, stream),
          progress: env.progress,
          signal: ctx.signal,
        });
      }
      if (!reverting) return task.run(ctx, parsed.data as never);
      return task.revert?.(ctx, parsed.data as never, output as never);
    })
    .then(
      async (output) => {
        if (reverting || !task.output) return finish(await succeed(output));
        const checked = task.output.safeParse(output);
        if (checked.success) return finish(await succeed(checked.data));
        const err = toValidationError(
          `task ${task.name} returned output that fails its schema`,
          checked.error,
          'output',
        );
        finish(failure(new PermanentError(err.message, { cause: err }), true));
      },
      (err: unknown) => finish(failure(err)),
    )
    .catch((err: unknown) => finish(failure(err, true)));
  return { control, done };
}

/** `ctx.flow` for a step's run: reads of its flow, and steps it adds (sent with its completion). */
function createFlowContext(
  ref: JobFlowRef,
  env: ExecuteEnv,
): { context: FlowContext; added(): Promise<NewStep[]> } {
  const prefix = ref.step.replace(/[^A-Za-z0-9_-]/g, '_');
  const collector = new StepCollector();
  let flowRecord: Promise<FlowRecord> | null = null;
  const record = () => {
    flowRecord ??= env.store.getFlow(ref.id).then((f) => {
      if (!f) throw flowNotFound(ref.id);
      return f;
    });
    return flowRecord;
  };
  const named = (options: StepOptions | undefined, task: Task | string): StepOptions => ({
    ...options,
    name:
      options?.name ??
      `${prefix}_${(typeof task === 'string' ? task : task.name).replace(/[^A-Za-z0-9_-]/g, '_')}`,
  });
  const context: FlowContext = {
    id: ref.id,
    step: ref.step,
    add: ((task: Task | string, input: unknown, options?: StepOptions) =>
      collector.step(task, input, named(options, task))) as FlowContext['add'],
    map: ((
      task: Task | string,
      over: unknown,
      input: (item: Ref<unknown>) => unknown,
      options?: MapOptions,
    ) => collector.map(task, over, input, named(options, task))) as FlowContext['map'],
    async store<T>(key: string) {
      return (await record()).store?.[key] as T | undefined;
    },
    async output<T>(step: string) {
      const steps = await env.store.getFlowSteps(ref.id);
      const found = steps?.find((s) => s.name === step);
      if (found?.state !== 'succeeded')
        throw new FlowReferenceError(
          `step ${step} of flow ${ref.id} has not succeeded (it is ${found?.state ?? 'not in the flow'})`,
        );
      return found.output as T;
    },
  };
  return {
    context,
    async added() {
      if (collector.steps.length === 0) return [];
      const checked = collector.steps.map((s) => {
        const deps = referencedSteps(s.input);
        if (s.map) referencedSteps(s.map.over, deps);
        for (const a of s.after ?? []) deps.add(a);
        return { ...s, deps: [...deps] };
      });
      return prepareSteps(checked, (name) => {
        const task = collector.tasks.get(name) ?? env.tasks.get(name);
        return task ? { ...task, revertible: task.revert !== undefined, task } : null;
      });
    },
  };
}
