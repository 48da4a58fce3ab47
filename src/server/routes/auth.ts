import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Store } from '../../store/types.js';
import { CSRF_HEADER, readCookie, SESSION_COOKIE, secureFor, setSessionCookie } from '../auth-cookie.js';
import { login, logout } from '../auth-login.js';
import type { ResolvedAuth } from '../auth-store.js';
import { errorBody, HttpError } from '../errors.js';

const tags = ['auth'];
const principal = z.object({
  name: z.string(),
  role: z.enum(['viewer', 'operator', 'admin']),
  via: z.enum(['token', 'session', 'custom', 'none']).optional(),
});

/** Login for the web UI (a session cookie), logout, and who the caller is. */
export function authRoutes(store: Store, auth: ResolvedAuth): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/auth/login',
      {
        config: { access: 'public' },
        schema: {
          tags,
          summary: 'Log in with a username and password; sets the session cookie',
          description: `Answers 200 with the user and sets the ${SESSION_COOKIE} cookie (HttpOnly, SameSite=Strict). 401 for a wrong username or password; 429 (RATE_LIMITED, with Retry-After) after repeated failures for the username or the client address.`,
          security: [],
          body: z.strictObject({
            username: z.string().min(1).max(200),
            password: z.string().min(1).max(1024),
          }),
          response: {
            200: z.object({ user: principal, expiresAt: z.number() }),
            429: z.object({
              error: z.object({
                code: z.string(),
                message: z.string(),
                details: z.record(z.string(), z.unknown()),
              }),
            }),
          },
        },
      },
      async (request, reply) => {
        const { username, password } = request.body;
        const result = await login(store, auth, request, username, password);
        if (!result.ok && result.reason === 'throttled') {
          const seconds = result.retryAfterSeconds;
          return reply
            .code(429)
            .header('retry-after', String(seconds))
            .send(
              errorBody('RATE_LIMITED', `too many failed logins: try again in ${seconds} s`, {
                retryAfterSeconds: seconds,
              }),
            );
        }
        if (!result.ok) throw new HttpError('UNAUTHENTICATED', 'wrong username or password');
        setSessionCookie(
          reply,
          result.sessionId,
          result.expiresAt - auth.clock.now(),
          secureFor(request, auth.secureCookie),
        );
        return { user: result.principal, expiresAt: result.expiresAt };
      },
    );

    app.post(
      '/auth/logout',
      {
        config: { access: 'public' },
        schema: {
          tags,
          summary: 'End the session of the cookie, and clear the cookie',
          description: `Needs the ${CSRF_HEADER} header when a session cookie is sent. 204 even without a session.`,
          security: [],
        },
      },
      async (request, reply) => {
        const sessionId = readCookie(request, SESSION_COOKIE);
        if (sessionId) {
          if (request.headers[CSRF_HEADER] === undefined)
            throw new HttpError(
              'FORBIDDEN',
              `logging out with the session cookie needs the header ${CSRF_HEADER}: 1`,
            );
          await logout(store, sessionId);
        }
        setSessionCookie(reply, '', 0, secureFor(request, auth.secureCookie));
        return reply.code(204).send();
      },
    );

    app.get(
      '/auth/me',
      {
        config: { access: 'viewer' },
        schema: {
          tags,
          summary: 'Who the credentials of this request belong to',
          response: { 200: principal },
        },
      },
      async (request) => {
        // The role hook set it (an anonymous admin when auth is off) before this ran.
        if (!request.principal) throw new Error('the auth hook did not run for /auth/me');
        return request.principal;
      },
    );
  };
}
