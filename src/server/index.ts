/**
 * The HTTP API, as its own entry point (`stint/server`) so that the library does not load fastify.
 *
 *   const server = createServer({ store: '.stint/stint.db', auth: { mode: 'off' } });
 *   await server.listen(); // http://127.0.0.1:7070/api/v1
 */
export type { JobObserver, JobOutcome } from '../metrics/observer.js';
export { createMetrics, type Metrics } from '../metrics/registry.js';
export type { Access, AuthConfig, Principal, Role, SessionOptions, ThrottleOptions } from './auth.js';
export { CSRF_HEADER, SESSION_COOKIE } from './auth-cookie.js';
export { hashPassword, newApiToken } from './auth-crypto.js';
export type { ErrorBody, HttpIssue } from './errors.js';
export { API_PREFIX, createServer, type Server, type ServerOptions } from './server.js';
