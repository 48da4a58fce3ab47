import { afterEach, describe, expect, it } from 'vitest';
import { createFakeClock } from '../../src/core/clock.js';
import { DEFAULT_RETRY } from '../../src/core/retry.js';
import { createPostgresStore } from '../../src/store/postgres/store.js';
import { createSqliteStore } from '../../src/store/sqlite/store.js';
import type { NewJob, Store } from '../../src/store/types.js';
import { tempDbPath, tempDir } from '../helpers.js';
import { freshSchema, PG_URL, pgAvailable } from '../pg.js';

/**
 * A time range is searched by id (ids grow with created_at, see src/store/job-list.ts), with slack
 * for jobs stamped a little out of id order. Two stores on one database, each with its own clock,
 * make a job with a higher id and an older created_at, as a lagging writer would.
 */
const dir = tempDir('stint-list-');
const pg = await pgAvailable();
const T = Date.UTC(2026, 10, 23, 12);

const kinds: { kind: string; open: () => (clock: ReturnType<typeof createFakeClock>) => Store }[] = [
  {
    kind: 'sqlite',
    open: () => {
      const path = tempDbPath(dir);
      return (clock) => createSqliteStore({ path, clock });
    },
  },
  ...(pg
    ? [
        {
          kind: 'postgres',
          open: () => {
            const schema = freshSchema('stint_list');
            return (clock: ReturnType<typeof createFakeClock>) =>
              createPostgresStore({ connectionString: PG_URL, schema, clock, maxConnections: 2 });
          },
        },
      ]
    : []),
];

const job: NewJob = {
  task: 't',
  queue: 'default',
  input: {},
  priority: 0,
  retry: DEFAULT_RETRY,
  timeoutMs: null,
  metadata: null,
  dedup: null,
};

const open: Store[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

describe.each(kinds)('listJobs by time, $kind', ({ open: opener }) => {
  it('finds a job created up to a minute out of id order', async () => {
    const make = opener();
    const ahead = make(createFakeClock(T));
    open.push(ahead);
    const [late] = await ahead.insertJobs([job]);
    const behind = make(createFakeClock(T - 30_000));
    open.push(behind);
    const [early] = await behind.insertJobs([job]); // a higher id with an older created_at
    const ids = async (filter: Parameters<Store['listJobs']>[0]) =>
      (await ahead.listJobs(filter)).jobs.map((j) => j.id);
    expect(Number(early!.id)).toBeGreaterThan(Number(late!.id));
    expect(await ids({ createdBefore: T })).toEqual([early!.id]);
    expect(await ids({ createdAfter: T })).toEqual([late!.id]);
    expect(await ids({ createdAfter: T - 30_000 })).toEqual([early!.id, late!.id]);
    expect(await ids({ createdAfter: T - 30_000, createdBefore: T - 29_999 })).toEqual([early!.id]);
  });
});
