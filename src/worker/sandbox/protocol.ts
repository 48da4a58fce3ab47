import type { SerializedError } from '../../core/errors.js';
import type { LogLevel } from '../../core/job.js';

/** Parent → child: run one attempt. */
export interface RunMessage {
  t: 'run';
  /** The run's number in this child, echoed in every message about it. */
  n: number;
  module: string;
  task: string;
  role: 'run' | 'revert';
  input: unknown;
  output: unknown;
  ctx: {
    jobId: string;
    attempt: number;
    task: string;
    queue: string;
    metadata: Record<string, unknown> | null;
  };
}

/** Child → parent. */
export type ChildMessage =
  | { t: 'log'; n: number; level: LogLevel; message: string; fields: Record<string, unknown> | null }
  | { t: 'out'; n: number; stream: 'stdout' | 'stderr'; text: string }
  | { t: 'progress'; n: number; done: number; total: number | null }
  | { t: 'done'; n: number; ok: true; output: unknown }
  | { t: 'done'; n: number; ok: false; error: SerializedError };

/** An error as the child serialized it, made an `Error` again (its name, code and retryable kept). */
export function restoreError(e: SerializedError): Error {
  const err = new Error(e.message) as Error & { code?: string; retryable?: boolean };
  err.name = e.name;
  if (e.code !== undefined) err.code = e.code;
  if (e.retryable !== undefined) err.retryable = e.retryable;
  err.stack = e.stack ?? `${e.name}: ${e.message}`;
  return err;
}
