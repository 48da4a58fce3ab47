import type { JobState } from '../core/job.js';

/**
 * The store's side of authentication (API tokens, users, login sessions, login throttling) and of
 * the gauges `/metrics` reads. Secrets never reach the store: tokens and session ids arrive as
 * their SHA-256, passwords as scrypt hashes (`server/auth-crypto.ts` makes both).
 *
 * Times are passed in (`now`, `since`) by the server, which judges expiry by its clock.
 */

/** What a principal may do; each role may do everything the one before it may. */
export type AuthRole = 'viewer' | 'operator' | 'admin';

export interface ApiTokenRecord {
  id: string;
  name: string;
  role: AuthRole;
  createdAt: number;
  expiresAt: number | null;
  /** Updated at most once a minute. */
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export interface NewApiToken {
  name: string;
  role: AuthRole;
  /** Hex SHA-256 of the token. */
  hash: string;
  expiresAt: number | null;
  now: number;
}

export interface UserRecord {
  id: string;
  username: string;
  role: AuthRole;
  createdAt: number;
  updatedAt: number;
}

export interface NewUser {
  username: string;
  role: AuthRole;
  /** The scrypt hash with its parameters and salt, as `hashPassword` writes it. */
  passwordHash: string;
  now: number;
}

export interface NewSession {
  /** Hex SHA-256 of the cookie's value. */
  hash: string;
  userId: string;
  createdAt: number;
  expiresAt: number;
}

/** Failures of one throttling key within the window asked for. */
export interface LoginFailureCount {
  key: string;
  count: number;
  /** The oldest failure counted (ms), or null when none. */
  oldest: number | null;
}

export interface AuthMethods {
  /** A new token. A `ConflictError` when a live (unrevoked) token has this name. */
  insertApiToken(token: NewApiToken): Promise<ApiTokenRecord>;
  /** Every token, revoked ones too, oldest first. */
  listApiTokens(): Promise<ApiTokenRecord[]>;
  /** The token with this hash (revoked and expired ones too: the caller decides), or null. */
  findApiToken(hash: string): Promise<ApiTokenRecord | null>;
  /**
   * Revokes the live token with this id or (failing that) name; null when there is none. Revoking
   * is immediate: the next request with the token is refused.
   */
  revokeApiToken(idOrName: string, now: number): Promise<ApiTokenRecord | null>;
  /** Sets `lastUsedAt` to `now` unless it is already after `notBefore` (one write a minute at most). */
  touchApiToken(id: string, now: number, notBefore: number): Promise<void>;

  /** A new user. A `ConflictError` when the username is taken. */
  insertUser(user: NewUser): Promise<UserRecord>;
  /** Every user, by username. */
  listUsers(): Promise<UserRecord[]>;
  /** The user with its password hash, or null. */
  getUserCredentials(username: string): Promise<(UserRecord & { passwordHash: string }) | null>;
  /** Deletes the user and its sessions; false when there was none. */
  deleteUser(username: string): Promise<boolean>;

  /** Stores a session (and deletes sessions that expired before `createdAt`). */
  insertSession(session: NewSession): Promise<void>;
  /** The user of the session with this hash, while it has not expired at `now`; else null. */
  findSession(hash: string, now: number): Promise<{ user: UserRecord; expiresAt: number } | null>;
  deleteSession(hash: string): Promise<void>;

  /** Records one failed login under each key (and forgets failures at or before `forgetBefore`). */
  recordLoginFailure(keys: readonly string[], at: number, forgetBefore: number): Promise<void>;
  /** Failures per key after `since` (every key asked for is answered, with 0 when none). */
  countLoginFailures(keys: readonly string[], since: number): Promise<LoginFailureCount[]>;
  /** Forgets the failures of these keys (after a successful login). */
  clearLoginFailures(keys: readonly string[]): Promise<void>;
}

/** What `/metrics` reads from the store at each scrape: one read, cheap on large tables. */
export interface MetricsSnapshot {
  /** The store's now (ms), against which lag is measured. */
  now: number;
  /** Jobs per queue and state, for the states that make a queue's depth (pending, running). */
  depth: { queue: string; state: Extract<JobState, 'pending' | 'running'>; count: number }[];
  /** Registered workers per state. */
  workers: { state: string; count: number }[];
  /** The coordinator lease's holder while it is live, else null. */
  coordinator: { holder: string; term: number } | null;
  /** The earliest `wakeAt` of an active schedule at or before `now`, or null when none is due. */
  oldestDueWake: number | null;
}

export interface MetricsMethods {
  metricsSnapshot(): Promise<MetricsSnapshot>;
}
