import {
  AuthError,
  ConflictError,
  FlowReferenceError,
  NotFoundError,
  QueueFullError,
  ServerError,
  type StintError,
  ValidationError,
  type ValidationIssue,
} from '../core/errors.js';

/** Where the API lives on a stint server. */
const API_PREFIX = '/api/v1';

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface RequestOptions {
  /** Query parameters; undefined ones are left out, arrays are sent comma-separated. */
  query?: Record<string, unknown>;
  /** A JSON body; none is sent (and no content type) when left out. */
  body?: unknown;
  /** This request's deadline, when it differs from the client's (a long-poll). */
  timeoutMs?: number;
}

/**
 * Sends one API request and answers with its status and JSON body, or throws the stint error the
 * server's `{ error: { code, message, details } }` describes. `action` says what the request does
 * ("submit jobs"), for messages such as "your token's role viewer may not submit jobs".
 */
export type Request = <T>(
  action: string,
  method: Method,
  path: string,
  options?: RequestOptions,
) => Promise<{ status: number; body: T }>;

/** `http://host:7070/`, `http://host:7070/api/v1` -> `http://host:7070`; a clear error for anything else. */
export function serverBase(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ValidationError(
      `the server address ${JSON.stringify(url)} is not a URL: give one such as http://127.0.0.1:7070`,
      [{ path: 'url', message: 'not a URL' }],
    );
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new ValidationError(`the server address must start with http:// or https:// (got ${url})`, [
      { path: 'url', message: 'not http(s)' },
    ]);
  const path = parsed.pathname.replace(/\/+$/, '').replace(/\/api\/v1$/, '');
  return `${parsed.origin}${path}`;
}

export function createRequest(options: {
  base: string;
  token: string | undefined;
  timeoutMs: number;
}): Request {
  const { base, token, timeoutMs } = options;
  return async <T>(action: string, method: Method, path: string, opts: RequestOptions = {}) => {
    const url = `${base}${API_PREFIX}${path}${queryString(opts.query)}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const limit = opts.timeoutMs ?? timeoutMs;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
        signal: AbortSignal.timeout(limit),
      });
    } catch (err) {
      throw unreachable(base, action, limit, err);
    }
    const text = await res.text().catch(() => '');
    let body: unknown = null;
    if (text.length > 0) {
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
    }
    if (res.ok && body !== undefined) return { status: res.status, body: body as T };
    throw toError({ base, action, method, path, status: res.status, body, hasToken: Boolean(token) });
  };
}

function queryString(query: Record<string, unknown> | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) params.set(key, value.join(','));
    else if (value instanceof Date) params.set(key, String(value.getTime()));
    else params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

function unreachable(base: string, action: string, limitMs: number, err: unknown): ServerError {
  const name = (err as { name?: string }).name;
  if (name === 'TimeoutError' || name === 'AbortError')
    return new ServerError(
      `the stint server at ${base} did not answer (${action}) within ${limitMs}ms; check that it is running and reachable`,
      null,
      { cause: err },
    );
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (err as Error).message;
  return new ServerError(
    `cannot reach the stint server at ${base} (${why}): check the address (--server or STINT_SERVER) and that stint server is running there`,
    null,
    { cause: err },
  );
}

interface ErrorShape {
  code: string;
  message: string;
  details: Record<string, unknown>;
}

function errorOf(body: unknown): ErrorShape | null {
  const error = (body as { error?: unknown } | null)?.error as Partial<ErrorShape> | undefined;
  if (!error || typeof error.code !== 'string' || typeof error.message !== 'string') return null;
  const details = typeof error.details === 'object' && error.details !== null ? error.details : {};
  return { code: error.code, message: error.message, details };
}

function issuesOf(details: Record<string, unknown>): ValidationIssue[] {
  const issues = Array.isArray(details.issues) ? details.issues : [];
  return issues.map((i: { path?: unknown; message?: unknown }) => ({
    path: typeof i.path === 'string' ? i.path : '',
    message: typeof i.message === 'string' ? i.message : 'invalid',
  }));
}

const NOT_FOUND = new Set([
  'JOB_NOT_FOUND',
  'FLOW_NOT_FOUND',
  'SCHEDULE_NOT_FOUND',
  'BACKFILL_NOT_FOUND',
  'TASK_NOT_FOUND',
]);

/** The stint error for a server's answer: the same classes and codes the client on a store throws. */
function toError(r: {
  base: string;
  action: string;
  method: Method;
  path: string;
  status: number;
  body: unknown;
  hasToken: boolean;
}): StintError {
  const error = errorOf(r.body);
  if (!error)
    return new ServerError(
      `the server at ${r.base} answered ${r.method} ${API_PREFIX}${r.path} with HTTP ${r.status} and no stint error: is that the address of a stint server?`,
      r.status,
    );
  const { code, message, details } = error;
  if (code === 'VALIDATION') return new ValidationError(message, issuesOf(details));
  if (code === 'FLOW_REFERENCE') return new FlowReferenceError(message);
  if (NOT_FOUND.has(code)) return new NotFoundError(code as 'JOB_NOT_FOUND', message);
  if (code === 'CONFLICT') return new ConflictError(message);
  if (code === 'QUEUE_FULL') {
    const queue = typeof details.queue === 'string' ? details.queue : 'unknown';
    const max = typeof details.maxPending === 'number' ? details.maxPending : 0;
    return new QueueFullError(queue, max, message);
  }
  if (code === 'UNAUTHENTICATED')
    return new AuthError(
      code,
      r.hasToken
        ? `the server refused the token: ${message}; check it (--token or STINT_TOKEN): it may be mistyped, revoked or expired (stint tokens ls on the server's database)`
        : `the server needs a token: pass --token or set STINT_TOKEN (create one on the server's database with stint tokens create --name me --role operator)`,
    );
  if (code === 'FORBIDDEN') {
    const role = typeof details.role === 'string' ? details.role : null;
    const needed = typeof details.needed === 'string' ? details.needed : null;
    return new AuthError(
      code,
      role && needed
        ? `your token's role ${role} may not ${r.action}: that needs the ${needed} role (use a token made with stint tokens create --role ${needed})`
        : `the server refused to ${r.action}: ${message}`,
    );
  }
  if (code === 'NOT_FOUND')
    return new ServerError(
      `the server has no route ${r.method} ${API_PREFIX}${r.path}: it may run an older stint; upgrade it`,
      r.status,
    );
  return new ServerError(`the server could not ${r.action} (${code}): ${message}`, r.status);
}
