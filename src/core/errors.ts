/**
 * The error hierarchy. Every error stint throws is a `StintError` with a stable string `code`;
 * the HTTP layer and the CLI map codes to statuses and exit codes in one place each.
 */

export type ErrorCode =
  | 'VALIDATION'
  | 'JOB_NOT_FOUND'
  | 'FLOW_NOT_FOUND'
  | 'FLOW_REFERENCE'
  | 'FLOW_FAILED'
  | 'SCHEDULE_NOT_FOUND'
  | 'BACKFILL_NOT_FOUND'
  | 'TASK_NOT_FOUND'
  | 'CONFLICT'
  | 'PERMANENT'
  | 'LEASE_LOST'
  | 'JOB_TIMEOUT'
  | 'JOB_CANCELLED'
  | 'JOB_FAILED'
  | 'WAIT_TIMEOUT'
  | 'SCHEMA_TOO_NEW'
  | 'STORE'
  | 'CLOSED'
  | 'WORKER_SHUTDOWN'
  | 'QUEUE_FULL'
  | 'SANDBOX_FAILED'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'SERVER';

export class StintError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

export interface ValidationIssue {
  /** Dotted path of the failing field, e.g. `input.user.email`; empty for the value itself. */
  path: string;
  message: string;
}

/** Bad input: nothing was changed. `issues` names every failing field. */
export class ValidationError extends StintError {
  readonly issues: ValidationIssue[];
  constructor(message: string, issues: ValidationIssue[] = [], options?: { cause?: unknown }) {
    super('VALIDATION', message, options);
    this.issues = issues;
  }
}

export class NotFoundError extends StintError {
  constructor(
    code: 'JOB_NOT_FOUND' | 'FLOW_NOT_FOUND' | 'TASK_NOT_FOUND' | 'SCHEDULE_NOT_FOUND' | 'BACKFILL_NOT_FOUND',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** The error for an id that names no job. */
export function jobNotFound(id: string): NotFoundError {
  return new NotFoundError(
    'JOB_NOT_FOUND',
    `job ${id} does not exist (it may have been removed by retention)`,
  );
}

/** The error for an id that names no flow. */
export function flowNotFound(id: string): NotFoundError {
  return new NotFoundError(
    'FLOW_NOT_FOUND',
    `flow ${id} does not exist (it may have been removed by retention)`,
  );
}

/** The error for a name that names no schedule. */
export function scheduleNotFound(name: string): NotFoundError {
  return new NotFoundError(
    'SCHEDULE_NOT_FOUND',
    `schedule ${name} does not exist (list them with \`stint schedules ls\`)`,
  );
}

/** The error for an id that names no backfill. */
export function backfillNotFound(id: string): NotFoundError {
  return new NotFoundError('BACKFILL_NOT_FOUND', `backfill ${id} does not exist`);
}

/**
 * A step's input refers to a value that is not there when the step becomes ready (a field missing
 * from an output, an item that is not an object). The step fails without running.
 */
export class FlowReferenceError extends StintError {
  readonly retryable = false;
  constructor(message: string) {
    super('FLOW_REFERENCE', message);
  }
}

/** The operation does not fit the current state (cancelling a finished job, retrying a running one). */
export class ConflictError extends StintError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONFLICT', message, options);
  }
}

/** A queue at its `maxPending` limit refused a job (policy `reject`, or the job ranks too low to shed another). */
export class QueueFullError extends StintError {
  readonly queue: string;
  readonly maxPending: number;
  constructor(queue: string, maxPending: number, message?: string) {
    super(
      'QUEUE_FULL',
      message ??
        `queue ${queue} is full (${maxPending} pending jobs): submit later, raise its limit with \`stint queues set ${queue} --max-pending N\`, or shed with --shed drop_lowest_priority`,
    );
    this.queue = queue;
    this.maxPending = maxPending;
  }
}

/**
 * Throw from a handler to fail the job at once, without further retries.
 * Any error with `retryable === false` is treated the same way.
 */
export class PermanentError extends StintError {
  readonly retryable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super('PERMANENT', message, options);
  }
}

/** The worker no longer holds the job's lease: another attempt may be running elsewhere. */
export class LeaseLostError extends StintError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('LEASE_LOST', message, options);
  }
}

export class JobTimeoutError extends StintError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('JOB_TIMEOUT', message, options);
  }
}

export class JobCancelledError extends StintError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('JOB_CANCELLED', message, options);
  }
}

/** Thrown by `handle.result()` when the job ended failed; `error` is what the handler threw, as stored. */
export class JobFailedError extends StintError {
  readonly jobId: string;
  readonly error: SerializedError;
  constructor(jobId: string, error: SerializedError) {
    super('JOB_FAILED', `job ${jobId} failed: ${error.name}: ${error.message}`);
    this.jobId = jobId;
    this.error = error;
  }
}

/**
 * Thrown by a flow handle's `result()` when the flow ended failed, reverted or cancelled: `error`
 * is the failure that stopped it, `step` the step that failed, `state` how the flow ended.
 */
export class FlowFailedError extends StintError {
  readonly flowId: string;
  readonly state: string;
  readonly step: string | null;
  readonly error: SerializedError;
  constructor(flowId: string, state: string, step: string | null, error: SerializedError) {
    super(
      'FLOW_FAILED',
      `flow ${flowId} ended ${state}${step ? ` (step ${step})` : ''}: ${error.name}: ${error.message}`,
    );
    this.flowId = flowId;
    this.state = state;
    this.step = step;
    this.error = error;
  }
}

export class WaitTimeoutError extends StintError {
  constructor(message: string) {
    super('WAIT_TIMEOUT', message);
  }
}

/**
 * A process or shell sandbox ended badly: a non-zero exit code, a signal, a child that died (a
 * crash, `process.exit`, out of memory) or could not start. `output` holds its last stderr lines.
 */
export class SandboxError extends StintError {
  readonly exitCode: number | null;
  readonly signal: string | null;
  constructor(
    message: string,
    details: { exitCode?: number | null; signal?: string | null } = {},
    options?: { cause?: unknown },
  ) {
    super('SANDBOX_FAILED', message, options);
    this.exitCode = details.exitCode ?? null;
    this.signal = details.signal ?? null;
  }
}

export class WorkerShutdownError extends StintError {
  constructor(message: string) {
    super('WORKER_SHUTDOWN', message);
  }
}

/**
 * A stint server refused the credentials (`UNAUTHENTICATED`: no token, or one it does not accept)
 * or the request (`FORBIDDEN`: the token's role may not do this).
 */
export class AuthError extends StintError {
  constructor(code: 'UNAUTHENTICATED' | 'FORBIDDEN', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * A stint server could not be reached, or answered with something other than one of stint's
 * errors (an outage, a proxy's error page, an older server without the route). `status` is the
 * HTTP status when there was an answer.
 */
export class ServerError extends StintError {
  readonly status: number | null;
  constructor(message: string, status: number | null = null, options?: { cause?: unknown }) {
    super('SERVER', message, options);
    this.status = status;
  }
}

export class StoreError extends StintError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STORE', message, options);
  }
}

export class SchemaTooNewError extends StintError {
  constructor(message: string) {
    super('SCHEMA_TOO_NEW', message);
  }
}

export class ClosedError extends StintError {
  constructor(what: string) {
    super('CLOSED', `${what} is closed; create a new one to keep working`);
  }
}

/** An error as stored with a job: plain JSON, readable from any process. */
export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  stack?: string;
  retryable?: boolean;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof Error) {
    const out: SerializedError = { name: err.name, message: err.message };
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string') out.code = code;
    if (err.stack) out.stack = err.stack;
    if ((err as { retryable?: unknown }).retryable === false) out.retryable = false;
    return out;
  }
  return { name: 'NonError', message: typeof err === 'string' ? err : safeJson(err) };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** True when the handler asked for no retry: `PermanentError` or any error with `retryable: false`. */
export function isPermanent(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { retryable?: unknown }).retryable === false;
}
