import type { LogLevel } from '../core/job.js';

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
}

export type LogSink = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void;

export function createJobLogger(sink: LogSink): JobLogger {
  return {
    debug: (message, fields) => sink('debug', message, fields),
    info: (message, fields) => sink('info', message, fields),
    warn: (message, fields) => sink('warn', message, fields),
    error: (message, fields) => sink('error', message, fields),
  };
}
