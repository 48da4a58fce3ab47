import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError } from './errors.js';

/** Who made a request, and what they may do. */
export interface Principal {
  name: string;
  role: Role;
}

/**
 * Roles, each allowed everything the one before it is:
 * - `viewer`: read anything;
 * - `operator`: submit, cancel, retry, pause/resume/run-now, mark datasets, start and cancel backfills;
 * - `admin`: delete schedules (and, later, manage tokens and users).
 */
export type Role = 'viewer' | 'operator' | 'admin';

/** What a route needs: a role, or nothing at all (`public`: health checks, the OpenAPI document). */
export type Access = Role | 'public';

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

/**
 * How requests are authenticated. `off` lets every request through as an admin (loopback
 * development only). `on` calls `authenticate` with the raw request (headers, cookies), so a bearer
 * token and a session cookie can both be supported; it returns the principal, or null when the
 * credentials are missing or wrong.
 */
export type AuthConfig =
  | { mode: 'off' }
  | { mode: 'on'; authenticate(request: FastifyRequest): Promise<Principal | null> };

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The least role a route needs; every API route declares one. */
    access?: Access;
  }
  interface FastifyRequest {
    /** Who made the request (set by the auth hook; an anonymous admin when auth is off). */
    principal: Principal | null;
  }
}

const ANONYMOUS: Principal = { name: 'anonymous', role: 'admin' };

export function allows(principal: Principal, needed: Role): boolean {
  return RANK[principal.role] >= RANK[needed];
}

/**
 * Installs the role check on an encapsulated context: every route registered in it must declare
 * `config.access` (registration fails otherwise, so no route is accidentally open), and each request
 * is authenticated before its body is parsed: 401 without valid credentials, 403 for too low a role.
 */
export function installAuth(app: FastifyInstance, auth: AuthConfig): void {
  app.addHook('onRoute', (route) => {
    if (route.config?.access === undefined)
      throw new Error(`route ${route.method} ${route.url} declares no access role (config.access)`);
  });
  app.addHook('onRequest', async (request) => {
    const access = request.routeOptions.config.access;
    if (access === undefined) throw new Error(`route ${request.routeOptions.url} declares no access role`);
    if (auth.mode === 'off') {
      request.principal = ANONYMOUS;
      return;
    }
    if (access === 'public') return;
    const principal = await auth.authenticate(request);
    if (!principal) throw new HttpError('UNAUTHENTICATED', 'missing or invalid credentials');
    if (!RANK[principal.role])
      throw new Error(`authenticate returned an unknown role: ${String(principal.role)}`);
    request.principal = principal;
    if (!allows(principal, access))
      throw new HttpError(
        'FORBIDDEN',
        `this needs the ${access} role; ${principal.name} is ${principal.role}`,
      );
  });
}
