import type pg from 'pg';
import { SchemaTooNewError, StoreError } from '../../core/errors.js';
import { withConnection } from './db.js';
import { migrations } from './migrations.generated.js';
import { quoteIdent } from './sql.js';

export const LATEST_VERSION = migrations.length;

/**
 * Brings the schema up to date in one transaction under `pg_advisory_xact_lock`, so ten processes
 * starting at once migrate once: the others wait for the lock and then find nothing to do. Each
 * migration commits with its version row.
 */
export async function migrate(pool: pg.Pool, schema: string, now: number): Promise<void> {
  const s = quoteIdent(schema);
  await withConnection(pool, async (client) => {
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`stint:migrate:${schema}`]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${s}.stint_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`,
      );
      const { rows } = await client.query<{ version: number | null }>(
        `SELECT max(version) AS version FROM ${s}.stint_migrations`,
      );
      const current = rows[0]?.version ?? 0;
      if (current > LATEST_VERSION) {
        throw new SchemaTooNewError(
          `the schema ${schema} is at version ${current}, newer than this stint (${LATEST_VERSION}): upgrade stint`,
        );
      }
      for (const m of migrations) {
        if (m.version <= current) continue;
        try {
          await client.query(m.sql.replaceAll('{{schema}}', s));
        } catch (err) {
          throw new StoreError(`migration ${m.name} failed: ${(err as Error).message}`, { cause: err });
        }
        await client.query(
          `INSERT INTO ${s}.stint_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
          [m.version, m.name, now],
        );
      }
      await client.query('COMMIT');
    } catch (err) {
      // The migration's own error is the one to report; a failed rollback ends with the connection.
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  });
}
