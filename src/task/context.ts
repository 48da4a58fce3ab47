import type { LogLevel, LogStream } from '../core/job.js';
import type { StepAdder } from '../flow/builder.js';

export interface JobLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** What a handler gets besides its input. */
export interface TaskContext {
  readonly jobId: string;
  /** 1 for the first attempt; counts on across retries. */
  readonly attempt: number;
  readonly task: string;
  readonly queue: string;
  readonly metadata: Record<string, unknown> | null;
  /** Aborted on timeout, cancel, lost lease or worker shutdown; `signal.reason` says which. */
  readonly signal: AbortSignal;
  /** Lines stored with the job (readable from any process while the job runs). */
  readonly log: JobLogger;
  /** Records progress, shown with the job. */
  progress(done: number, total?: number): void;
  /**
   * Renews the job's lease now. The worker renews leases by itself; call this from a handler that
   * blocks the event loop for long stretches. Rejects with `LeaseLostError` if the lease is gone.
   */
  heartbeat(): Promise<void>;
  /** The job's flow, when it runs a step of one (null otherwise, and in a revert). */
  readonly flow: FlowContext | null;
}

/**
 * A step's view of its flow. Steps added with `add` / `map` join the flow when this step succeeds
 * (atomically with its completion) and may refer to any step of the flow, this one included.
 */
export interface FlowContext {
  readonly id: string;
  /** This step's name. */
  readonly step: string;
  /** Adds a step running `task` (default name: `<this step>_<task>`). */
  add: StepAdder['step'];
  /** Adds a map step: `task` once per element of a list. */
  map: StepAdder['map'];
  /** A value of the flow's store (given at submit). */
  store<T = unknown>(key: string): Promise<T | undefined>;
  /** The output of a succeeded step of this flow; a `FlowReferenceError` when it has not succeeded. */
  output<T = unknown>(step: string): Promise<T>;
}

/** Where a job's lines go; `stream` is `log` unless the line is a sandbox's stdout / stderr. */
export type LogSink = (
  level: LogLevel,
  message: string,
  fields?: Record<string, unknown>,
  stream?: LogStream,
) => void;

export function createJobLogger(sink: LogSink): JobLogger {
  return {
    debug: (message, fields) => sink('debug', message, fields),
    info: (message, fields) => sink('info', message, fields),
    warn: (message, fields) => sink('warn', message, fields),
    error: (message, fields) => sink('error', message, fields),
  };
}
