import { type Clock, systemClock } from '../core/clock.js';
import { type Duration, parseDuration } from '../core/duration.js';
import {
  ClosedError,
  JobCancelledError,
  JobFailedError,
  jobNotFound,
  ValidationError,
  WaitTimeoutError,
} from '../core/errors.js';
import { isFinished, type JobEvent, type JobLogEntry, type JobRecord, type JobState } from '../core/job.js';
import type { JobPage } from '../store/types.js';
import { type Task, toValidationError } from '../task/define.js';
import type { Client, JobHandle, ResultOptions } from './client.js';
import type { FollowLogsOptions } from './follow.js';
import { createHttpFlowApi } from './http-flows.js';
import { createRequest, type Request, serverBase } from './http-request.js';
import { createHttpScheduleApi } from './http-schedules.js';
import type { SubmitOptions } from './submit-options.js';

export interface HttpClientOptions {
  /** The stint server, e.g. `http://127.0.0.1:7070` (a trailing `/api/v1` is fine). */
  url: string;
  /** An API token, sent as `Authorization: Bearer <token>`; leave it out when the server runs without auth. */
  token?: string;
  /** Tasks known here: submitting one of them validates its input before anything is sent. */
  tasks?: readonly Task[];
  /** How long one request may take (a result long-poll gets its wait on top). @default '30s' */
  timeout?: Duration;
  /** @default the system clock */
  clock?: Clock;
}

/**
 * The client API over a stint server's HTTP API instead of a store: the same methods, results and
 * error classes (a `ValidationError` with its issues, `NotFoundError`, `ConflictError`,
 * `QueueFullError`; `AuthError` when the server refuses the token, `ServerError` when it cannot be
 * reached). There is no `store`. A `Task` passed to `submit` is sent by name: its input is checked
 * here, and the defaults its workers registered apply (its own defaults are not sent).
 */
export type HttpClient = Omit<Client, 'store'>;

/** Ids are decimal strings; anything else names no job (as on a store), rather than a 400. */
const ID = /^[0-9]{1,19}$/;
/** The longest wait the server holds a `/result` long-poll for. */
const LONG_POLL_MS = 30_000;
/** How often a log follower asks for new lines. */
const FOLLOW_POLL_MS = 500;
/** Log lines read per request when following. */
const PAGE = 500;

export function createHttpClient(options: HttpClientOptions): HttpClient {
  const base = serverBase(options.url);
  const timeoutMs = parseDuration(options.timeout ?? '30s', 'timeout');
  const request = createRequest({ base, token: options.token, timeoutMs });
  const clock = options.clock ?? systemClock;
  const tasks = new Map<string, Task>((options.tasks ?? []).map((t) => [t.name, t]));
  let closed = false;
  const call: Request = async (action, method, path, opts) => {
    if (closed) throw new ClosedError('the client');
    return request(action, method, path, opts);
  };

  const taskOf = (task: Task | string) => {
    const name = typeof task === 'string' ? task : task.name;
    return { name, def: typeof task === 'string' ? tasks.get(task) : task };
  };
  const validate = (name: string, def: Task | undefined, input: unknown, path: string): unknown => {
    if (!def) return input;
    const parsed = def.input.safeParse(input);
    if (!parsed.success) throw toValidationError(`invalid input for task ${name}`, parsed.error, path);
    return parsed.data;
  };

  const jobPath = (id: string, rest = '') => {
    if (!ID.test(id)) throw jobNotFound(id);
    return `/jobs/${id}${rest}`;
  };
  const get = async (id: string) => (await call<JobRecord>('read jobs', 'GET', jobPath(id))).body;
  const cancel = async (id: string, reason = 'cancelled by request') =>
    (await call<JobRecord>('cancel jobs', 'POST', jobPath(id, '/cancel'), { body: { reason } })).body;

  const result = async <Out>(id: string, opts?: ResultOptions): Promise<Out> => {
    const limitMs = opts?.timeout === undefined ? null : parseDuration(opts.timeout, 'timeout');
    const deadline = limitMs === null ? null : clock.now() + limitMs;
    for (;;) {
      const waitMs = Math.max(
        0,
        Math.min(LONG_POLL_MS, deadline === null ? LONG_POLL_MS : deadline - clock.now()),
      );
      const { status, body } = await call<{ state: JobState; output: unknown; error: JobRecord['error'] }>(
        'read jobs',
        'GET',
        jobPath(id, '/result'),
        { query: { wait: `${Math.round(waitMs)}ms` }, timeoutMs: timeoutMs + waitMs },
      );
      if (status === 200 && isFinished(body.state)) {
        if (body.state === 'succeeded') return body.output as Out;
        if (body.state === 'cancelled')
          throw new JobCancelledError(`job ${id} was cancelled: ${body.error?.message ?? ''}`);
        throw new JobFailedError(id, body.error ?? { name: 'Error', message: 'unknown error' });
      }
      if (deadline !== null && clock.now() >= deadline)
        throw new WaitTimeoutError(
          `job ${id} is still ${body.state} after ${limitMs}ms; wait longer or check it later`,
        );
    }
  };

  const handle = <Out>(id: string, deduplicated = false): JobHandle<Out> => ({
    id,
    deduplicated,
    status: async () => (await get(id)).state,
    get: () => get(id),
    result: (opts) => result<Out>(id, opts),
    cancel: (reason) => cancel(id, reason),
  });

  const logs = async (id: string, opts: { afterId?: number; limit?: number } = {}) =>
    (await call<{ logs: JobLogEntry[] }>('read jobs', 'GET', jobPath(id, '/logs'), { query: opts })).body
      .logs;

  async function* followLogs(id: string, opts: FollowLogsOptions = {}): AsyncGenerator<JobLogEntry> {
    let afterId = opts.afterId ?? 0;
    const signal = opts.signal;
    while (!signal?.aborted) {
      // The state first: lines written before the job finished are then all in the reads below.
      const job = await get(id);
      for (;;) {
        const lines = await logs(id, { afterId, limit: PAGE });
        for (const line of lines) {
          afterId = line.id;
          yield line;
        }
        if (lines.length < PAGE || signal?.aborted) break;
      }
      if (isFinished(job.state)) return;
      await clock.sleep(opts.pollMs ?? FOLLOW_POLL_MS, signal);
    }
  }

  const client: HttpClient = {
    ...createHttpScheduleApi(call),
    ...createHttpFlowApi(call, clock),
    async submit(task: Task | string, input: unknown, opts?: SubmitOptions) {
      const { name, def } = taskOf(task);
      const body = { task: name, input: validate(name, def, input, 'input'), options: bodyOptions(opts) };
      const res = await call<{ id: string; deduplicated: boolean }>('submit jobs', 'POST', '/jobs', { body });
      return handle(res.body.id, res.body.deduplicated);
    },
    async submitMany(task: Task | string, inputs: readonly unknown[], opts?: SubmitOptions) {
      if (!Array.isArray(inputs))
        throw new ValidationError('inputs must be an array', [{ path: 'inputs', message: 'not an array' }]);
      const { name, def } = taskOf(task);
      const checked = inputs.map((input, i) => validate(name, def, input, `inputs.${i}`));
      const res = await call<{ jobs: { id: string; deduplicated: boolean }[] }>(
        'submit jobs',
        'POST',
        '/jobs/bulk',
        {
          body: { task: name, inputs: checked, options: bodyOptions(opts) },
        },
      );
      return res.body.jobs.map((j) => handle(j.id, j.deduplicated));
    },
    async run(task: Task | string, input: unknown, opts?: SubmitOptions & ResultOptions) {
      const { timeout, ...submitOptions } = opts ?? {};
      const h = await client.submit(task as string, input, submitOptions);
      return h.result(timeout === undefined ? undefined : { timeout });
    },
    job: (id) => handle(id),
    get,
    list: async (filter = {}) =>
      (await call<JobPage>('list jobs', 'GET', '/jobs', { query: { ...filter } })).body,
    events: async (id) =>
      (await call<{ events: JobEvent[] }>('read jobs', 'GET', jobPath(id, '/events'))).body.events,
    logs,
    followLogs,
    cancel,
    retry: async (id) => (await call<JobRecord>('retry jobs', 'POST', jobPath(id, '/retry'))).body,
    async close() {
      closed = true;
    },
  } as HttpClient;
  return client;
}

/** Submit options as the API takes them: times as epoch milliseconds; no local-only ones. */
function bodyOptions(opts: SubmitOptions | undefined): Record<string, unknown> | undefined {
  if (!opts) return undefined;
  const { tx, runAt, ...rest } = opts;
  if (tx !== undefined)
    throw new ValidationError(
      'options.tx (a transactional submit) needs the PostgreSQL store itself, not a server: use createClient',
      [{ path: 'options.tx', message: 'not available over HTTP' }],
    );
  return runAt === undefined ? rest : { ...rest, runAt: runAt instanceof Date ? runAt.getTime() : runAt };
}
