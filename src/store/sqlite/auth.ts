import type Database from 'better-sqlite3';
import { ConflictError } from '../../core/errors.js';
import {
  type ApiTokenRow,
  failureCounts,
  TOKEN_COLUMNS,
  toApiToken,
  toUser,
  USER_COLUMNS,
  type UserRow,
} from '../auth-rows.js';
import type { AuthMethods } from '../auth-types.js';
import { toRowId } from '../rows.js';

type Wrap = <A extends unknown[], R>(fn: (...args: A) => R) => (...args: A) => Promise<R>;

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/** API tokens, users, sessions and login failures; each write one immediate transaction. */
export function createSqliteAuth(db: Database.Database, write: Wrap, read: Wrap): AuthMethods {
  const s = {
    /** (name, role, hash, created_at, expires_at) */
    insertToken: db.prepare(`INSERT INTO api_tokens (name, role, hash, created_at, expires_at)
      VALUES (?, ?, ?, ?, ?) RETURNING ${TOKEN_COLUMNS}`),
    listTokens: db.prepare(`SELECT ${TOKEN_COLUMNS} FROM api_tokens ORDER BY id`),
    /** (hash) */
    tokenByHash: db.prepare(`SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE hash = ?`),
    /** (now, id) */
    revokeById: db.prepare(`UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL
      RETURNING ${TOKEN_COLUMNS}`),
    /** (now, name) */
    revokeByName: db.prepare(`UPDATE api_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL
      RETURNING ${TOKEN_COLUMNS}`),
    /** (now, id, notBefore) */
    touchToken: db.prepare(`UPDATE api_tokens SET last_used_at = ?
      WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)`),
    /** (username, role, password, created_at, updated_at) */
    insertUser: db.prepare(`INSERT INTO users (username, role, password, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?) RETURNING ${USER_COLUMNS}`),
    listUsers: db.prepare(`SELECT ${USER_COLUMNS} FROM users ORDER BY username`),
    /** (username) */
    credentials: db.prepare(`SELECT ${USER_COLUMNS}, password FROM users WHERE username = ?`),
    /** (username) */
    deleteUser: db.prepare('DELETE FROM users WHERE username = ? RETURNING id'),
    /** (user_id) */
    deleteUserSessions: db.prepare('DELETE FROM sessions WHERE user_id = ?'),
    /** (hash, user_id, created_at, expires_at) */
    insertSession: db.prepare(
      'INSERT INTO sessions (hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)',
    ),
    /** (before) */
    deleteExpiredSessions: db.prepare('DELETE FROM sessions WHERE expires_at <= ?'),
    /** (hash, now) */
    session:
      db.prepare(`SELECT u.id, u.username, u.role, u.created_at, u.updated_at, s.expires_at AS session_expires_at
      FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.hash = ? AND s.expires_at > ?`),
    /** (hash) */
    deleteSession: db.prepare('DELETE FROM sessions WHERE hash = ?'),
    /** (key, at) */
    insertFailure: db.prepare('INSERT INTO login_failures (key, at) VALUES (?, ?)'),
    /** (before) */
    forgetFailures: db.prepare('DELETE FROM login_failures WHERE at <= ?'),
    /** (keys as JSON, since) */
    countFailures: db.prepare(`SELECT key, count(*) AS count, min(at) AS oldest FROM login_failures
      WHERE key IN (SELECT value FROM json_each(?)) AND at > ? GROUP BY key`),
    /** (keys as JSON) */
    clearFailures: db.prepare('DELETE FROM login_failures WHERE key IN (SELECT value FROM json_each(?))'),
  };

  return {
    insertApiToken: write((t) => {
      try {
        return toApiToken(s.insertToken.get(t.name, t.role, t.hash, t.now, t.expiresAt) as ApiTokenRow);
      } catch (err) {
        if (isUniqueViolation(err))
          throw new ConflictError(
            `a live token is already named ${t.name}: pick another name, or revoke it first (stint tokens revoke ${t.name})`,
            { cause: err },
          );
        throw err;
      }
    }),
    listApiTokens: read(() => (s.listTokens.all() as ApiTokenRow[]).map(toApiToken)),
    findApiToken: read((hash: string) => {
      const row = s.tokenByHash.get(hash) as ApiTokenRow | undefined;
      return row ? toApiToken(row) : null;
    }),
    revokeApiToken: write((idOrName: string, now: number) => {
      const id = toRowId(idOrName);
      const row = ((id === null ? undefined : s.revokeById.get(now, id)) ??
        s.revokeByName.get(now, idOrName)) as ApiTokenRow | undefined;
      return row ? toApiToken(row) : null;
    }),
    touchApiToken: write((id: string, now: number, notBefore: number) => {
      s.touchToken.run(now, toRowId(id) ?? 0, notBefore);
    }),
    insertUser: write((u) => {
      try {
        return toUser(s.insertUser.get(u.username, u.role, u.passwordHash, u.now, u.now) as UserRow);
      } catch (err) {
        if (isUniqueViolation(err))
          throw new ConflictError(
            `user ${u.username} exists: pick another name, or remove it first (stint users rm ${u.username})`,
            { cause: err },
          );
        throw err;
      }
    }),
    listUsers: read(() => (s.listUsers.all() as UserRow[]).map(toUser)),
    getUserCredentials: read((username: string) => {
      const row = s.credentials.get(username) as (UserRow & { password: string }) | undefined;
      return row ? { ...toUser(row), passwordHash: row.password } : null;
    }),
    deleteUser: write((username: string) => {
      const row = s.deleteUser.get(username) as { id: number } | undefined;
      if (row) s.deleteUserSessions.run(row.id);
      return row !== undefined;
    }),
    insertSession: write((session) => {
      s.deleteExpiredSessions.run(session.createdAt);
      s.insertSession.run(session.hash, toRowId(session.userId) ?? 0, session.createdAt, session.expiresAt);
    }),
    findSession: read((hash: string, now: number) => {
      const row = s.session.get(hash, now) as (UserRow & { session_expires_at: number }) | undefined;
      return row ? { user: toUser(row), expiresAt: row.session_expires_at } : null;
    }),
    deleteSession: write((hash: string) => {
      s.deleteSession.run(hash);
    }),
    recordLoginFailure: write((keys: readonly string[], at: number, forgetBefore: number) => {
      s.forgetFailures.run(forgetBefore);
      for (const key of keys) s.insertFailure.run(key, at);
    }),
    countLoginFailures: read((keys: readonly string[], since: number) =>
      failureCounts(
        keys,
        s.countFailures.all(JSON.stringify(keys), since) as { key: string; count: number; oldest: number }[],
      ),
    ),
    clearLoginFailures: write((keys: readonly string[]) => {
      s.clearFailures.run(JSON.stringify(keys));
    }),
  };
}
