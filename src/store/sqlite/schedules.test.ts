import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFakeClock } from '../../core/clock.js';
import { DEFAULT_RETRY } from '../../core/retry.js';
import type { NewSchedule, NewScheduleRun } from '../../schedule/types.js';
import type { NewJob, Store } from '../types.js';
import { migrations } from './migrations.generated.js';
import { createSqliteStore } from './store.js';

/**
 * SQLite only: runs of schedules that never read their open runs (overlap `allow`) are written closed
 * (migration 0006). What readers see must not depend on it; the shared behaviour is in
 * test/conformance/schedule-conformance.ts.
 */
const job: NewJob = {
  task: 't',
  queue: 'default',
  input: null,
  priority: 0,
  retry: DEFAULT_RETRY,
  timeoutMs: null,
  metadata: null,
  dedup: null,
};
const policies = { misfire: 'skip', misfireGraceMs: 60_000, maxCatchUp: 10, maxRuns: null } as const;
const schedule = (name: string, overlap: 'allow' | 'skip'): NewSchedule => ({
  name,
  description: null,
  target: { kind: 'job', job },
  trigger: { type: 'interval', everyMs: 1000, referenceMs: 0 },
  policies: { ...policies, overlap },
  state: 'active',
  nextFireAt: null,
  wakeAt: null,
  metadata: null,
});
const run = (key: string): NewScheduleRun => ({
  key,
  kind: 'fire',
  fireTime: null,
  partition: null,
  backfillId: null,
  target: { kind: 'job', job },
});

describe('sqlite store: runs written closed', () => {
  let dir: string;
  let store: Store;
  let raw: Database.Database;
  const openFlags = () =>
    (
      raw.prepare('SELECT key, open FROM schedule_runs ORDER BY id').all() as { key: string; open: number }[]
    ).map((r) => `${r.key}=${r.open}`);
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'stint-runs-'));
    store = createSqliteStore({
      path: join(dir, 'db.sqlite'),
      clock: createFakeClock(Date.UTC(2026, 10, 23)),
    });
    raw = new Database(join(dir, 'db.sqlite'));
  });
  afterEach(async () => {
    raw.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes runs of allow schedules closed, and still finds their active runs', async () => {
    const a = await store.insertSchedule(schedule('a', 'allow'));
    const s = await store.insertSchedule(schedule('s', 'skip'));
    await store.fireSchedules([
      { scheduleId: a.id, runs: [run('t:1'), run('t:2')] },
      { scheduleId: s.id, runs: [run('t:1')] },
    ]);
    expect(openFlags()).toEqual(['t:1=0', 't:2=0', 't:1=1']);
    expect((await store.activeScheduleRuns([a.id, s.id])).map((r) => `${r.scheduleName}:${r.key}`)).toEqual([
      'a:t:1',
      'a:t:2',
      's:t:1',
    ]);
    expect((await store.listScheduleRuns({ scheduleId: a.id, active: true })).runs).toHaveLength(2);
  });

  it('reopens the active runs when an update makes the schedule read them', async () => {
    const a = await store.insertSchedule(schedule('a', 'allow'));
    await store.fireSchedules([{ scheduleId: a.id, runs: [run('t:1'), run('t:2')] }]);
    const [first] = await store.claimJobs({
      workerId: 'w',
      queues: ['default'],
      tasks: ['t'],
      limit: 1,
      leaseMs: 10_000,
    });
    await store.completeJobs({
      completions: [
        { id: first!.id, attempt: first!.attempt, workerId: 'w', outcome: 'succeeded', output: null },
      ],
    });
    await store.updateSchedule(
      'a',
      { policies: { ...policies, overlap: 'skip' } },
      { type: 'updated', data: null },
    );
    expect(openFlags()).toEqual(['t:1=0', 't:2=1']);
    expect((await store.activeScheduleRuns([a.id])).map((r) => r.key)).toEqual(['t:2']);
  });

  it('migration 0006 keeps every run and its id, and closes the open runs of allow schedules', async () => {
    const path = join(dir, 'v5.sqlite');
    const old = new Database(path);
    old.exec(
      'CREATE TABLE stint_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
    );
    for (const m of migrations.filter((m) => m.version <= 5)) {
      old.exec(m.sql);
      old.prepare('INSERT INTO stint_migrations VALUES (?, ?, 0)').run(m.version, m.name);
    }
    const insert = old.prepare(
      `INSERT INTO schedules (name, target, trigger, trigger_type, policies, state, created_at, updated_at)
       VALUES (?, '{}', '{}', ?, ?, 'active', 0, 0) RETURNING id`,
    );
    const ids = [
      ['a', 'interval', 'allow'],
      ['s', 'interval', 'skip'],
      ['c', 'continuous', 'allow'],
    ].map(([name, type, overlap]) =>
      Number(insert.pluck().get(name, type, JSON.stringify({ ...policies, overlap }))),
    );
    const addRun = old.prepare(
      "INSERT INTO schedule_runs (id, schedule_id, key, kind, created_at, open) VALUES (?, ?, ?, 'fire', 0, ?)",
    );
    ids.forEach((id, i) => {
      addRun.run(10 + i, id, 't:1', 1);
      addRun.run(20 + i, id, 't:2', 0);
    });
    old.close();
    const migrated = createSqliteStore({ path });
    await migrated.close();
    const db = new Database(path);
    const rows = db.prepare('SELECT id, key, open FROM schedule_runs ORDER BY id').all();
    const { sql } = db.prepare("SELECT sql FROM sqlite_schema WHERE name = 'schedule_runs'").get() as {
      sql: string;
    };
    db.close();
    expect(rows).toEqual([
      { id: 10, key: 't:1', open: 0 },
      { id: 11, key: 't:1', open: 1 },
      { id: 12, key: 't:1', open: 1 },
      { id: 20, key: 't:2', open: 0 },
      { id: 21, key: 't:2', open: 0 },
      { id: 22, key: 't:2', open: 0 },
    ]);
    expect(sql).toContain('UNIQUE (key, schedule_id)');
  });
});
