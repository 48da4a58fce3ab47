import type { FastifyRequest } from 'fastify';
import type { Store } from '../store/types.js';
import type { Principal } from './auth.js';
import { randomSecret, sha256, UNUSABLE_HASH, verifyPassword } from './auth-crypto.js';
import type { ResolvedAuth } from './auth-store.js';

export type LoginResult =
  | { ok: true; principal: Principal; sessionId: string; expiresAt: number }
  | { ok: false; reason: 'throttled'; retryAfterSeconds: number }
  | { ok: false; reason: 'wrong' };

/** The throttling keys of a login attempt: its username and its client address. */
export function throttleKeys(username: string, request: FastifyRequest): string[] {
  return [`user:${username}`, `ip:${request.ip}`];
}

/**
 * One login attempt. Throttled first: after `maxFailures` failures within the window, for the
 * username or for the client address, the answer is "try again later" without the password even
 * being checked (so guessing gains nothing). An unknown user costs a password check too, so its
 * timing tells nothing. Success starts a session and forgets the username's failures.
 */
export async function login(
  store: Store,
  auth: ResolvedAuth,
  request: FastifyRequest,
  username: string,
  password: string,
): Promise<LoginResult> {
  const keys = throttleKeys(username, request);
  const now = auth.clock.now();
  const counts = await store.countLoginFailures(keys, now - auth.windowMs);
  const blocked = counts.filter((c) => c.count >= auth.maxFailures);
  if (blocked.length > 0) {
    const freeAt = Math.max(...blocked.map((c) => (c.oldest ?? now) + auth.windowMs));
    return {
      ok: false,
      reason: 'throttled',
      retryAfterSeconds: Math.max(1, Math.ceil((freeAt - now) / 1000)),
    };
  }
  const user = await store.getUserCredentials(username);
  const matches = await verifyPassword(password, user?.passwordHash ?? UNUSABLE_HASH);
  if (!user || !matches) {
    await store.recordLoginFailure(keys, now, now - auth.windowMs);
    return { ok: false, reason: 'wrong' };
  }
  await store.clearLoginFailures([`user:${username}`]);
  const sessionId = randomSecret();
  const expiresAt = now + auth.sessionTtlMs;
  await store.insertSession({ hash: sha256(sessionId), userId: user.id, createdAt: now, expiresAt });
  return {
    ok: true,
    principal: { name: user.username, role: user.role, via: 'session' },
    sessionId,
    expiresAt,
  };
}

/** Ends the session with this cookie value (nothing when there is none). */
export async function logout(store: Store, sessionId: string): Promise<void> {
  await store.deleteSession(sha256(sessionId));
}
