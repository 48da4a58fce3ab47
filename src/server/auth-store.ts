import type { FastifyRequest } from 'fastify';
import { type Clock, systemClock } from '../core/clock.js';
import { parseDuration } from '../core/duration.js';
import type { Store } from '../store/types.js';
import type { AuthConfig, Authenticator, Principal } from './auth.js';
import { CSRF_HEADER, isSafeMethod, readCookie, SESSION_COOKIE } from './auth-cookie.js';
import { sha256 } from './auth-crypto.js';
import { HttpError } from './errors.js';

/** `lastUsedAt` of a token is written at most this often. */
const TOUCH_EVERY_MS = 60_000;

/** Auth settings with every default applied (server.ts resolves them once). */
export interface ResolvedAuth {
  authenticator: Authenticator;
  clock: Clock;
  sessionTtlMs: number;
  secureCookie: boolean | 'auto';
  maxFailures: number;
  windowMs: number;
}

/** The bearer token of a request, or undefined; null when the header is there but not a bearer token. */
export function bearerToken(request: FastifyRequest): string | null | undefined {
  const header = request.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  return match ? (match[1] as string) : null;
}

async function fromToken(store: Store, clock: Clock, request: FastifyRequest, token: string) {
  const record = await store.findApiToken(sha256(token));
  const now = clock.now();
  if (!record || record.revokedAt !== null || (record.expiresAt !== null && record.expiresAt <= now))
    return null;
  if (record.lastUsedAt === null || now - record.lastUsedAt >= TOUCH_EVERY_MS) {
    // Bookkeeping only: a failed write is reported, and the request goes on.
    await store.touchApiToken(record.id, now, now - TOUCH_EVERY_MS).catch((err: unknown) => {
      request.log.warn({ err, token: record.name }, 'could not record when an API token was last used');
    });
  }
  return { name: record.name, role: record.role, via: 'token' } satisfies Principal;
}

async function fromSession(store: Store, clock: Clock, request: FastifyRequest, sessionId: string) {
  const session = await store.findSession(sha256(sessionId), clock.now());
  if (!session) return null;
  if (!isSafeMethod(request.method) && request.headers[CSRF_HEADER] === undefined)
    throw new HttpError(
      'FORBIDDEN',
      `a request authenticated by the session cookie that changes something needs the header ${CSRF_HEADER}: 1`,
    );
  return { name: session.user.username, role: session.user.role, via: 'session' } satisfies Principal;
}

/**
 * Authenticates against the store: a bearer token (an API token, not revoked, not expired), else
 * the session cookie of a logged-in user. A request with an Authorization header is judged by it
 * alone (a bad token is 401 even with a good cookie).
 */
export function resolveAuth(config: AuthConfig, store: Store): ResolvedAuth {
  const on = config.mode === 'on' ? config : null;
  const clock = on?.clock ?? systemClock;
  const custom = on?.authenticate;
  const authenticate = async (request: FastifyRequest): Promise<Principal | null> => {
    if (custom) {
      const principal = await custom(request);
      if (principal) return { via: 'custom', ...principal };
    }
    const token = bearerToken(request);
    if (token !== undefined) return token === null ? null : fromToken(store, clock, request, token);
    const sessionId = readCookie(request, SESSION_COOKIE);
    return sessionId ? fromSession(store, clock, request, sessionId) : null;
  };
  return {
    authenticator: on ? { mode: 'on', authenticate } : { mode: 'off' },
    clock,
    sessionTtlMs: parseDuration(on?.sessions?.ttl ?? '12h', 'auth.sessions.ttl'),
    secureCookie: on?.sessions?.secureCookie ?? 'auto',
    maxFailures: on?.throttle?.maxFailures ?? 5,
    windowMs: parseDuration(on?.throttle?.window ?? '15m', 'auth.throttle.window'),
  };
}
