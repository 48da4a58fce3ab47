import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { QueueFullError, StintError, ValidationError, type ValidationIssue } from '../core/errors.js';

/**
 * Every error the API returns has one shape:
 *
 *   { "error": { "code": "VALIDATION", "message": "…", "details": { "issues": [{ "path", "message", "in" }] } } }
 *
 * This file is the one place that maps error codes to HTTP statuses.
 */
export interface ErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> };
}

/** Where a failing field was: the JSON body, the query string or the path. */
export type IssueLocation = 'body' | 'query' | 'params' | 'headers';

/** A failing field; `in` says where it was when the HTTP layer's own schema caught it. */
export interface HttpIssue extends ValidationIssue {
  in?: IssueLocation;
}

const STATUS: Record<string, number> = {
  VALIDATION: 400,
  FLOW_REFERENCE: 400,
  JOB_NOT_FOUND: 404,
  FLOW_NOT_FOUND: 404,
  SCHEDULE_NOT_FOUND: 404,
  BACKFILL_NOT_FOUND: 404,
  TASK_NOT_FOUND: 404,
  NOT_FOUND: 404,
  CONFLICT: 409,
  BODY_TOO_LARGE: 413,
  URI_TOO_LONG: 414,
  UNSUPPORTED_MEDIA_TYPE: 415,
  // Reserved: admission control ("queue full") and rate limits answer 429.
  QUEUE_FULL: 429,
  RATE_LIMITED: 429,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  CLOSED: 503,
  NOT_READY: 503,
};

/** The HTTP status of a stint (or API) error code; 500 for codes that mean a bug or an outage. */
export function statusOf(code: string): number {
  return STATUS[code] ?? 500;
}

/** An error the API answers with as it is (auth failures, 404 for unknown routes). */
export class HttpError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: Record<string, unknown>;
  constructor(code: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.code = code;
    this.status = statusOf(code);
    this.details = details;
  }
}

export function errorBody(code: string, message: string, details: Record<string, unknown> = {}): ErrorBody {
  return { error: { code, message, details } };
}

const CONTEXT: Record<string, IssueLocation> = {
  body: 'body',
  querystring: 'query',
  params: 'params',
  headers: 'headers',
};

/** Fastify's schema errors (from zod through the type provider, or from ajv): one issue per failing field. */
function schemaIssues(err: FastifyError): HttpIssue[] {
  const where = CONTEXT[err.validationContext ?? 'body'] ?? 'body';
  return (err.validation ?? []).map((v) => {
    const path = (v.instancePath ?? '').split('/').filter((p) => p.length > 0);
    // zod's messages for unknown keys name the key without a path below the object.
    const keys = (v.params as { keys?: unknown } | undefined)?.keys;
    const unknownKey = v.keyword === 'unrecognized_keys' && Array.isArray(keys) ? String(keys[0]) : undefined;
    if (unknownKey !== undefined) path.push(unknownKey);
    return { path: path.join('.'), message: v.message ?? 'invalid', in: where };
  });
}

function summary(issues: readonly HttpIssue[]): string {
  const [first] = issues;
  if (!first) return 'invalid request';
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return `${first.in === 'body' || !first.in ? '' : `${first.in} `}${first.path || first.in}: ${first.message}${more}`;
}

/** The status and body for any error a handler or fastify raised; logs the ones that are our fault. */
export function toErrorResponse(err: unknown, request: FastifyRequest): { status: number; body: ErrorBody } {
  if (err instanceof HttpError)
    return { status: err.status, body: errorBody(err.code, err.message, err.details) };
  if (err instanceof ValidationError) {
    return { status: 400, body: errorBody('VALIDATION', err.message, { issues: err.issues }) };
  }
  if (err instanceof StintError) {
    const status = statusOf(err.code);
    if (err instanceof QueueFullError)
      return {
        status,
        body: errorBody(err.code, err.message, { queue: err.queue, maxPending: err.maxPending }),
      };
    if (status < 500) return { status, body: errorBody(err.code, err.message) };
    request.log.error({ err }, 'request failed');
    // Store and internal messages can describe the database; clients get a generic one.
    const message =
      err.code === 'CLOSED' ? 'the server is shutting down' : 'internal error; see the server log';
    return { status: status === 500 ? 500 : status, body: errorBody(err.code, message) };
  }
  const fe = err as Partial<FastifyError>;
  if (Array.isArray(fe.validation)) {
    const issues = schemaIssues(fe as FastifyError);
    return { status: 400, body: errorBody('VALIDATION', summary(issues), { issues }) };
  }
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || status === 413) {
    return {
      status: 413,
      body: errorBody('BODY_TOO_LARGE', 'the request body is larger than the server accepts', {
        limit: request.routeOptions.bodyLimit,
      }),
    };
  }
  if (status === 414) return { status, body: errorBody('URI_TOO_LONG', 'a path parameter is too long') };
  if (status === 415)
    return {
      status,
      body: errorBody('UNSUPPORTED_MEDIA_TYPE', 'send JSON (content-type: application/json)'),
    };
  if (status === 429) return { status, body: errorBody('RATE_LIMITED', fe.message ?? 'too many requests') };
  if (status === 400) {
    // Malformed JSON, an empty JSON body, a bad content length: the body is what failed.
    const issues: HttpIssue[] = [{ path: '', message: fe.message ?? 'invalid body', in: 'body' }];
    return { status: 400, body: errorBody('VALIDATION', `body: ${fe.message ?? 'invalid'}`, { issues }) };
  }
  if (status > 400 && status < 500)
    return { status, body: errorBody('BAD_REQUEST', fe.message ?? 'bad request') };
  request.log.error({ err }, 'request failed');
  return { status: 500, body: errorBody('INTERNAL', 'internal error; see the server log') };
}

export function sendError(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { status, body } = toErrorResponse(err, request);
  if (status === 401) reply.header('www-authenticate', 'Bearer');
  return reply.code(status).type('application/json; charset=utf-8').send(body);
}
