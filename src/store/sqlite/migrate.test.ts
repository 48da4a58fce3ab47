import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { tempDbPath, tempDir } from '../../../test/helpers.js';
import { SchemaTooNewError } from '../../core/errors.js';
import { LATEST_VERSION, migrate, schemaVersion } from './migrate.js';
import { migrations } from './migrations.generated.js';
import { dumpFreshSchema } from './schema-dump.js';
import { createSqliteStore } from './store.js';

const dir = tempDir();

describe('sqlite migrations', () => {
  it('creates exactly the committed schema snapshot', () => {
    const committed = readFileSync(new URL('./schema.snapshot.sql', import.meta.url), 'utf8');
    expect(dumpFreshSchema()).toBe(committed);
  });

  it('embeds every numbered .sql file', () => {
    const files = migrations.map((m) => m.name);
    expect(files).toEqual(migrations.map((m, i) => `${String(i + 1).padStart(4, '0')}_${m.name.slice(5)}`));
    for (const m of migrations) {
      expect(readFileSync(join(import.meta.dirname, 'migrations', m.name), 'utf8')).toBe(m.sql);
    }
  });

  it('records the version and is a no-op the second time', () => {
    const db = new Database(':memory:');
    migrate(db, 1);
    migrate(db, 2);
    expect(schemaVersion(db)).toBe(LATEST_VERSION);
    expect(db.prepare('SELECT count(*) FROM stint_migrations').pluck().get()).toBe(LATEST_VERSION);
    db.close();
  });

  it('refuses a database newer than the code', () => {
    const path = tempDbPath(dir);
    const db = new Database(path);
    migrate(db, 1);
    db.prepare('INSERT INTO stint_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
      LATEST_VERSION + 1,
      'future.sql',
      1,
    );
    db.close();
    expect(() => createSqliteStore({ path })).toThrow(SchemaTooNewError);
    expect(() => createSqliteStore({ path })).toThrow(/upgrade stint/);
  });

  it('opens in WAL mode so other processes can read while one writes', async () => {
    const path = tempDbPath(dir);
    const store = createSqliteStore({ path });
    const db = new Database(path, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    await store.close();
  });
});
