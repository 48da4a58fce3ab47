import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createSqliteStore } from '../../src/index.js';
import { LATEST_VERSION } from '../../src/store/sqlite/migrate.js';
import { tempDbPath, tempDir } from '../helpers.js';
import { spawnFixture } from '../processes.js';

const dir = tempDir();

describe('sqlite shared by processes', () => {
  it('migrates once when several processes open a new file at the same time', async () => {
    const path = tempDbPath(dir);
    const children = Array.from({ length: 6 }, () => spawnFixture('open-store.ts', [path]));
    await Promise.all(children.map((c) => c.waitFor(/^opened$/)));
    expect(await Promise.all(children.map((c) => c.exited))).toEqual([0, 0, 0, 0, 0, 0]);
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT version FROM stint_migrations').pluck().all()).toEqual(
      Array.from({ length: LATEST_VERSION }, (_, i) => i + 1),
    );
    expect(db.prepare('SELECT count(*) FROM jobs').pluck().get()).toBe(6);
    db.close();
  });

  it('wakes a waiter in this process when another process finishes a job', async () => {
    const path = tempDbPath(dir);
    const store = createSqliteStore({ path });
    const seen: string[] = [];
    const unsubscribe = store.subscribe((n) => seen.push(n.type));
    const child = spawnFixture('open-store.ts', [path]);
    await child.waitFor(/^opened$/);
    await child.exited;
    const deadline = Date.now() + 5000;
    while (!seen.includes('changed') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(seen).toContain('changed');
    unsubscribe();
    await store.close();
  });

  it('claims through the partial index and sweeps through the lease index (no table scans)', async () => {
    const path = tempDbPath(dir);
    const store = createSqliteStore({ path });
    await store.close();
    const db = new Database(path);
    const plan = (sql: string) =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[])
        .map((r) => r.detail)
        .join(' | ');
    const claim =
      plan(`SELECT id FROM jobs WHERE state = 'pending' AND placement IS NULL AND concurrency_key IS NULL
      AND queue = 'q' AND run_at <= 1 AND task IN (SELECT value FROM json_each('["t"]'))
      ORDER BY priority DESC, run_at, id LIMIT 10`);
    expect(claim).toMatch(/USING (COVERING )?INDEX jobs_claim/);
    expect(claim).not.toMatch(/TEMP B-TREE FOR ORDER BY/);
    const placed = plan(`SELECT id FROM jobs WHERE state = 'pending'
      AND (placement IS NOT NULL OR concurrency_key IS NOT NULL) AND queue = 'q' AND run_at <= 1
      AND task IN (SELECT value FROM json_each('["t"]')) ORDER BY priority DESC, run_at, id LIMIT 10`);
    expect(placed).toMatch(/USING (COVERING )?INDEX jobs_placed/);
    expect(placed).not.toMatch(/TEMP B-TREE FOR ORDER BY/);
    const sweep = plan(
      `SELECT id FROM jobs WHERE state = 'running' AND lease_expires_at < 1 ORDER BY lease_expires_at LIMIT 10`,
    );
    expect(sweep).toMatch(/USING (COVERING )?INDEX jobs_lease/);
    db.close();
  });
});
