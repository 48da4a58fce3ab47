/**
 * The HTTP API, as its own entry point (`stint/server`) so that the library does not load fastify.
 *
 *   const server = createServer({ store: '.stint/stint.db', auth: { mode: 'off' } });
 *   await server.listen(); // http://127.0.0.1:7070/api/v1
 */
export type { Access, AuthConfig, Principal, Role } from './auth.js';
export type { ErrorBody, HttpIssue } from './errors.js';
export { API_PREFIX, createServer, type Server, type ServerOptions } from './server.js';
