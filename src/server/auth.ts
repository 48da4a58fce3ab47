import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Clock } from '../core/clock.js';
import type { Duration } from '../core/duration.js';
import { HttpError } from './errors.js';

/** Who made a request, and what they may do. */
export interface Principal {
  name: string;
  role: Role;
  /** How they proved it: an API token, a login session, the caller's own `authenticate`, or nothing (auth off). */
  via?: 'token' | 'session' | 'custom' | 'none';
}

/**
 * Roles, each allowed everything the one before it is:
 * - `viewer`: read anything (and `/metrics`);
 * - `operator`: submit, cancel, retry, pause/resume/run-now, mark datasets, start and cancel backfills;
 * - `admin`: delete schedules (tokens and users are managed with the CLI on the store).
 */
export type Role = 'viewer' | 'operator' | 'admin';

/** What a route needs: a role, or nothing at all (`public`: health checks, the OpenAPI document, login). */
export type Access = Role | 'public';

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && Object.hasOwn(RANK, value);
}

/** Login sessions (the web UI's cookie). */
export interface SessionOptions {
  /** How long a session lasts after login (no sliding renewal). @default '12h' */
  ttl?: Duration;
  /**
   * Mark the cookie `Secure` (sent over https only). `auto`: when the request came over https
   * (behind a TLS-terminating proxy, set fastify's `trustProxy` or pass `true`).
   * @default 'auto'
   */
  secureCookie?: boolean | 'auto';
}

/** Login throttling: this many failures within `window`, per username and per client address, answer 429. */
export interface ThrottleOptions {
  /** @default 5 */
  maxFailures?: number;
  /** @default '15m' */
  window?: Duration;
}

/**
 * How requests are authenticated.
 * - `off`: every request goes through as an anonymous admin (loopback development only).
 * - `on`: `Authorization: Bearer <token>` with an API token from the store, or the session cookie
 *   of a user who logged in (`POST /api/v1/auth/login`). With `authenticate`, that function is asked
 *   first (it gets the raw request: headers, cookies) and the store's tokens and sessions are tried
 *   when it returns null.
 */
export type AuthConfig =
  | { mode: 'off' }
  | {
      mode: 'on';
      authenticate?(request: FastifyRequest): Promise<Principal | null>;
      sessions?: SessionOptions;
      throttle?: ThrottleOptions;
      /** Judges token and session expiry and the throttling window. @default the system clock */
      clock?: Clock;
    };

/** What the role hook calls: the resolved form of an `AuthConfig`. */
export type Authenticator =
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

export const ANONYMOUS: Principal = { name: 'anonymous', role: 'admin', via: 'none' };

export function allows(principal: Principal, needed: Role): boolean {
  return RANK[principal.role] >= RANK[needed];
}

/**
 * Installs the role check on an encapsulated context: every route registered in it must declare
 * `config.access` (registration fails otherwise, so no route is accidentally open), and each request
 * is authenticated before its body is parsed: 401 without valid credentials, 403 for too low a role.
 */
export function installAuth(app: FastifyInstance, auth: AuthConfig): void {
  const authenticate = auth.mode === 'on' ? auth.authenticate : undefined;
  if (auth.mode === 'on' && !authenticate)
    throw new Error('installAuth needs an authenticate function (resolve the config with resolveAuth first)');
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
    const principal = authenticate ? await authenticate(request) : null;
    if (!principal) throw new HttpError('UNAUTHENTICATED', 'missing or invalid credentials');
    if (!isRole(principal.role))
      throw new Error(`authenticate returned an unknown role: ${String(principal.role)}`);
    request.principal = principal;
    if (!allows(principal, access))
      throw new HttpError(
        'FORBIDDEN',
        `this needs the ${access} role; ${principal.name} is ${principal.role}`,
        { needed: access, role: principal.role },
      );
  });
}
