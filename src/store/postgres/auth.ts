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
import type { Db, Queryable } from './db.js';
import { quoteIdent } from './sql.js';
import type { TxContext } from './write.js';

/** The statements of the auth tables for one schema; times are always parameters here. */
function authStatements(schema: string) {
  const s = quoteIdent(schema);
  return {
    /** (name, role, hash, created_at, expires_at) */
    insertToken: `INSERT INTO ${s}.api_tokens (name, role, hash, created_at, expires_at)
      VALUES ($1, $2, $3, $4, $5) RETURNING ${TOKEN_COLUMNS}`,
    listTokens: `SELECT ${TOKEN_COLUMNS} FROM ${s}.api_tokens ORDER BY id`,
    /** (hash) */
    tokenByHash: `SELECT ${TOKEN_COLUMNS} FROM ${s}.api_tokens WHERE hash = $1`,
    /** (now, id or 0, name): the live token with this id, else the live one with this name */
    revoke: `UPDATE ${s}.api_tokens SET revoked_at = $1 WHERE id = (
        SELECT id FROM ${s}.api_tokens WHERE revoked_at IS NULL AND (id = $2 OR name = $3)
        ORDER BY (id = $2) DESC LIMIT 1 FOR UPDATE)
      RETURNING ${TOKEN_COLUMNS}`,
    /** (now, id, notBefore) */
    touchToken: `UPDATE ${s}.api_tokens SET last_used_at = $1
      WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $3)`,
    /** (username, role, password, now) */
    insertUser: `INSERT INTO ${s}.users (username, role, password, created_at, updated_at)
      VALUES ($1, $2, $3, $4, $4) RETURNING ${USER_COLUMNS}`,
    listUsers: `SELECT ${USER_COLUMNS} FROM ${s}.users ORDER BY username`,
    /** (username) */
    credentials: `SELECT ${USER_COLUMNS}, password FROM ${s}.users WHERE username = $1`,
    /** (username): the user and its sessions */
    deleteUser: `WITH gone AS (DELETE FROM ${s}.users WHERE username = $1 RETURNING id),
        sessions AS (DELETE FROM ${s}.sessions WHERE user_id IN (SELECT id FROM gone))
      SELECT id FROM gone`,
    /** (hash, user_id, created_at, expires_at): also drops sessions expired by created_at */
    insertSession: `WITH expired AS (DELETE FROM ${s}.sessions WHERE expires_at <= $3)
      INSERT INTO ${s}.sessions (hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
    /** (hash, now) */
    session: `SELECT u.id, u.username, u.role, u.created_at, u.updated_at, s.expires_at AS session_expires_at
      FROM ${s}.sessions s JOIN ${s}.users u ON u.id = s.user_id WHERE s.hash = $1 AND s.expires_at > $2`,
    /** (hash) */
    deleteSession: `DELETE FROM ${s}.sessions WHERE hash = $1`,
    /** (keys[], at, forgetBefore) */
    recordFailure: `WITH old AS (DELETE FROM ${s}.login_failures WHERE at <= $3)
      INSERT INTO ${s}.login_failures (key, at) SELECT k, $2 FROM unnest($1::text[]) AS k`,
    /** (keys[], since) */
    countFailures: `SELECT key, count(*)::int AS count, min(at) AS oldest FROM ${s}.login_failures
      WHERE key = ANY($1::text[]) AND at > $2 GROUP BY key`,
    /** (keys[]) */
    clearFailures: `DELETE FROM ${s}.login_failures WHERE key = ANY($1::text[])`,
  };
}

type AuthStatements = ReturnType<typeof authStatements>;

interface Runners {
  db: Db;
  transaction: <R>(fn: (ctx: TxContext) => Promise<R>) => Promise<R>;
  read: <R>(fn: (on: Queryable) => Promise<R>) => Promise<R>;
}

/** PostgreSQL's unique_violation. */
const UNIQUE_VIOLATION = '23505';

/** API tokens, users, sessions and login failures; each method one statement (or one transaction). */
export function pgAuthMethods({ db, read }: Runners): AuthMethods {
  const sql = authStatements(db.schema);
  const run = <R>(on: Queryable, key: keyof AuthStatements, values: unknown[]) =>
    db.runShaped<R>(on, sql[key], values);
  const conflict = (err: unknown, message: string): unknown =>
    (err as { code?: string }).code === UNIQUE_VIOLATION ? new ConflictError(message, { cause: err }) : err;

  return {
    insertApiToken: (t) =>
      read(async (on) => {
        try {
          const [row] = await run<ApiTokenRow>(on, 'insertToken', [
            t.name,
            t.role,
            t.hash,
            t.now,
            t.expiresAt,
          ]);
          return toApiToken(row as ApiTokenRow);
        } catch (err) {
          throw conflict(
            err,
            `a live token is already named ${t.name}: pick another name, or revoke it first (stint tokens revoke ${t.name})`,
          );
        }
      }),
    listApiTokens: () => read(async (on) => (await run<ApiTokenRow>(on, 'listTokens', [])).map(toApiToken)),
    findApiToken: (hash) =>
      read(async (on) => {
        const [row] = await run<ApiTokenRow>(on, 'tokenByHash', [hash]);
        return row ? toApiToken(row) : null;
      }),
    revokeApiToken: (idOrName, now) =>
      read(async (on) => {
        const [row] = await run<ApiTokenRow>(on, 'revoke', [now, toRowId(idOrName) ?? 0, idOrName]);
        return row ? toApiToken(row) : null;
      }),
    touchApiToken: (id, now, notBefore) =>
      read(async (on) => {
        await run(on, 'touchToken', [now, toRowId(id) ?? 0, notBefore]);
      }),
    insertUser: (u) =>
      read(async (on) => {
        try {
          const [row] = await run<UserRow>(on, 'insertUser', [u.username, u.role, u.passwordHash, u.now]);
          return toUser(row as UserRow);
        } catch (err) {
          throw conflict(
            err,
            `user ${u.username} exists: pick another name, or remove it first (stint users rm ${u.username})`,
          );
        }
      }),
    listUsers: () => read(async (on) => (await run<UserRow>(on, 'listUsers', [])).map(toUser)),
    getUserCredentials: (username) =>
      read(async (on) => {
        const [row] = await run<UserRow & { password: string }>(on, 'credentials', [username]);
        return row ? { ...toUser(row), passwordHash: row.password } : null;
      }),
    deleteUser: (username) => read(async (on) => (await run(on, 'deleteUser', [username])).length > 0),
    insertSession: (session) =>
      read(async (on) => {
        await run(on, 'insertSession', [
          session.hash,
          toRowId(session.userId) ?? 0,
          session.createdAt,
          session.expiresAt,
        ]);
      }),
    findSession: (hash, now) =>
      read(async (on) => {
        const [row] = await run<UserRow & { session_expires_at: number }>(on, 'session', [hash, now]);
        return row ? { user: toUser(row), expiresAt: row.session_expires_at } : null;
      }),
    deleteSession: (hash) =>
      read(async (on) => {
        await run(on, 'deleteSession', [hash]);
      }),
    recordLoginFailure: (keys, at, forgetBefore) =>
      read(async (on) => {
        await run(on, 'recordFailure', [keys, at, forgetBefore]);
      }),
    countLoginFailures: (keys, since) =>
      read(async (on) =>
        failureCounts(
          keys,
          await run<{ key: string; count: number; oldest: number }>(on, 'countFailures', [keys, since]),
        ),
      ),
    clearLoginFailures: (keys) =>
      read(async (on) => {
        await run(on, 'clearFailures', [keys]);
      }),
  };
}
