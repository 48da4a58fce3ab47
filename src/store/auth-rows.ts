import type { ApiTokenRecord, AuthRole, LoginFailureCount, UserRecord } from './auth-types.js';

/** Rows of the auth tables as both stores read them (times as ms, ids as numbers). */
export interface ApiTokenRow {
  id: number;
  name: string;
  role: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
}

export interface UserRow {
  id: number;
  username: string;
  role: string;
  created_at: number;
  updated_at: number;
}

export const TOKEN_COLUMNS = 'id, name, role, created_at, expires_at, last_used_at, revoked_at';
export const USER_COLUMNS = 'id, username, role, created_at, updated_at';

export function toApiToken(row: ApiTokenRow): ApiTokenRecord {
  return {
    id: String(row.id),
    name: row.name,
    role: row.role as AuthRole,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}

export function toUser(row: UserRow): UserRecord {
  return {
    id: String(row.id),
    username: row.username,
    role: row.role as AuthRole,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** One answer per key asked for, in the order asked, with 0 for keys without failures. */
export function failureCounts(
  keys: readonly string[],
  rows: readonly { key: string; count: number; oldest: number | null }[],
): LoginFailureCount[] {
  const byKey = new Map(rows.map((r) => [r.key, r]));
  return keys.map((key) => {
    const row = byKey.get(key);
    return { key, count: row ? Number(row.count) : 0, oldest: row?.oldest ?? null };
  });
}
