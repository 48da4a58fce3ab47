import type Database from 'better-sqlite3';
import { SchemaTooNewError, StoreError } from '../../core/errors.js';
import { migrations } from './migrations.generated.js';

export const LATEST_VERSION = migrations.length;

/**
 * Brings the schema up to date. Runs under `BEGIN IMMEDIATE`, so processes starting together
 * migrate once: the second waits for the write lock and then finds nothing left to do.
 * Each migration and its version row commit in the same transaction.
 */
export function migrate(db: Database.Database, now: number): void {
  const run = db.transaction(() => {
    db.exec(
      'CREATE TABLE IF NOT EXISTS stint_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
    );
    const row = db.prepare('SELECT max(version) AS version FROM stint_migrations').get() as {
      version: number | null;
    };
    const current = row.version ?? 0;
    if (current > LATEST_VERSION) {
      throw new SchemaTooNewError(
        `the database is at schema version ${current}, newer than this stint (${LATEST_VERSION}): upgrade stint`,
      );
    }
    const record = db.prepare('INSERT INTO stint_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    for (const migration of migrations) {
      if (migration.version <= current) continue;
      try {
        db.exec(migration.sql);
      } catch (err) {
        throw new StoreError(`migration ${migration.name} failed: ${(err as Error).message}`, { cause: err });
      }
      record.run(migration.version, migration.name, now);
    }
  });
  run.immediate();
}

export function schemaVersion(db: Database.Database): number {
  const row = db.prepare('SELECT max(version) AS version FROM stint_migrations').get() as {
    version: number | null;
  };
  return row.version ?? 0;
}
