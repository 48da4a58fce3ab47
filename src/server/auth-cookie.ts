import type { FastifyReply, FastifyRequest } from 'fastify';

/** The session cookie's name. */
export const SESSION_COOKIE = 'stint_session';

/**
 * The header a cookie-authenticated request must carry to change anything (any method but GET,
 * HEAD and OPTIONS). A page on another site cannot set a custom header without a CORS preflight,
 * which the server never grants, so together with `SameSite=Strict` this stops cross-site request
 * forgery; bearer tokens need no such header (browsers never attach them by themselves).
 */
export const CSRF_HEADER = 'x-stint-csrf';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Whether a request only reads (and so needs no CSRF header). */
export function isSafeMethod(method: string): boolean {
  return SAFE_METHODS.has(method.toUpperCase());
}

/** The value of one cookie of the request, or undefined. */
export function readCookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    try {
      return decodeURIComponent(value);
    } catch {
      // A value that is not valid percent-encoding is no session of ours.
      return undefined;
    }
  }
  return undefined;
}

/** Whether the session cookie should be marked `Secure` for this request. */
export function secureFor(request: FastifyRequest, setting: boolean | 'auto'): boolean {
  return setting === 'auto' ? request.protocol === 'https' : setting;
}

/**
 * Sets (or, with `maxAgeMs` 0, clears) the session cookie: `HttpOnly` (no script reads it),
 * `SameSite=Strict` (never sent by requests from other sites), `Path=/`, and `Secure` when asked.
 */
export function setSessionCookie(
  reply: FastifyReply,
  value: string,
  maxAgeMs: number,
  secure: boolean,
): void {
  const parts = [
    `${SESSION_COOKIE}=${encodeURIComponent(value)}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${Math.max(0, Math.floor(maxAgeMs / 1000))}`,
  ];
  if (maxAgeMs <= 0) parts.push('Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  if (secure) parts.push('Secure');
  reply.header('set-cookie', parts.join('; '));
}
