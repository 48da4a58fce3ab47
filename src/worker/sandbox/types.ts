import type { ClaimedJob, LogLevel, LogStream } from '../../core/job.js';
import type { Task } from '../../task/define.js';
import type { ResolvedSandbox } from '../../task/sandbox.js';

/**
 * One attempt handed to a sandbox. Everything a sandbox needs is here, so a new kind (a container,
 * a Kubernetes Job) is one more `Sandbox`: run the code somewhere, stream its lines back through
 * `log`, resolve with the output or reject with an error, and stop the code when `signal` aborts.
 */
export interface SandboxRun<S extends ResolvedSandbox = ResolvedSandbox> {
  job: ClaimedJob;
  task: Task;
  /** The job's sandbox settings (the task's, with the submission's override applied). */
  settings: S;
  /** `run` the task, or `revert` a completed run (then `output` is that run's output). */
  role: 'run' | 'revert';
  /** The input, as parsed by the task's input schema. */
  input: unknown;
  output?: unknown;
  /** A line for the job's logs: from `ctx.log` (stream `log`), or a line of stdout / stderr. */
  log(stream: LogStream, level: LogLevel, message: string, fields?: Record<string, unknown> | null): void;
  progress(done: number, total: number | null): void;
  /**
   * Aborted on timeout, cancel, lost lease or shutdown (`reason` says which). The attempt is
   * already over for the worker; the sandbox must stop the code (and should reject soon).
   */
  signal: AbortSignal;
}

export interface Sandbox<S extends ResolvedSandbox = ResolvedSandbox> {
  /** Runs the attempt: resolves with the output (before the task's output schema), or rejects. */
  run(run: SandboxRun<S>): Promise<unknown>;
  /** Stops everything still running or kept idle; resolves when it is gone. */
  close(): Promise<void>;
}

/** Longest log line kept from stdout / stderr; the rest of a longer line is cut. */
export const MAX_LINE_CHARS = 16_384;
