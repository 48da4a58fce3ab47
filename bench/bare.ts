/**
 * Scenario `bare`: the ceiling. A hand-written queue on better-sqlite3 (WAL, synchronous=NORMAL)
 * with a partial index on pending rows; no stint code at all.
 * - drain: 50,000 pre-enqueued no-op jobs; each round claims 100 with one
 *   `UPDATE ... WHERE id IN (SELECT ... LIMIT 100) RETURNING` transaction, runs the handlers, and
 *   marks them done in one transaction (one statement over a JSON array of ids); it yields to the
 *   event loop once per round, as a well-behaved queue in a server process must.
 * - single insert: 10,000 inserts, one autocommit transaction each.
 * - bulk insert: 50,000 inserts, 1,000 per transaction.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { count, type Metric, rate, SCENARIO_DEADLINE_MS, type ScenarioContext } from './lib.js';

const DRAIN_JOBS = 50_000;
const SINGLE_JOBS = 10_000;
const BULK_JOBS = 50_000;
const BULK_BATCH = 1000;
const CLAIM_BATCH = 100;

const SCHEMA = `
CREATE TABLE jobs (
  id          INTEGER PRIMARY KEY,
  queue       TEXT    NOT NULL,
  state       TEXT    NOT NULL,
  payload     TEXT    NOT NULL,
  result      TEXT,
  run_at      INTEGER NOT NULL,
  attempts    INTEGER NOT NULL DEFAULT 0,
  locked_at   INTEGER,
  finished_at INTEGER
);
CREATE INDEX jobs_pending ON jobs (queue, run_at, id) WHERE state = 'pending';`;

function open(path: string): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(SCHEMA);
  return db;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function bare(ctx: ScenarioContext): Promise<Metric[]> {
  const deadline = performance.now() + SCENARIO_DEADLINE_MS;
  const payload = JSON.stringify({});

  // Single inserts.
  const singleDb = open(join(ctx.dir, 'bare-single.db'));
  const insertSingle = singleDb.prepare(
    "INSERT INTO jobs (queue, state, payload, run_at) VALUES ('default', 'pending', ?, ?)",
  );
  let t0 = performance.now();
  for (let i = 0; i < SINGLE_JOBS; i++) insertSingle.run(JSON.stringify({}), Date.now());
  const singleMs = performance.now() - t0;
  singleDb.close();

  // Bulk inserts; the same file is then drained.
  const db = open(join(ctx.dir, 'bare.db'));
  const insert = db.prepare(
    "INSERT INTO jobs (queue, state, payload, run_at) VALUES ('default', 'pending', ?, ?)",
  );
  const insertMany = db.transaction((n: number) => {
    const now = Date.now();
    for (let i = 0; i < n; i++) insert.run(payload, now);
  });
  t0 = performance.now();
  for (let done = 0; done < BULK_JOBS; done += BULK_BATCH) insertMany(BULK_BATCH);
  const bulkMs = performance.now() - t0;

  // Drain.
  const claim = db.prepare(`UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_at = ?
    WHERE id IN (SELECT id FROM jobs WHERE state = 'pending' AND queue = 'default' AND run_at <= ?
                 ORDER BY run_at, id LIMIT ?)
    RETURNING id, payload`);
  const markDone = db.prepare(`UPDATE jobs SET state = 'succeeded', result = 'null', finished_at = ?
    WHERE id IN (SELECT value FROM json_each(?))`);
  const claimTx = db.transaction(
    (now: number) => claim.all(now, now, CLAIM_BATCH) as { id: number; payload: string }[],
  );
  const doneTx = db.transaction((ids: number[]) => markDone.run(Date.now(), JSON.stringify(ids)));
  const handler = (_input: unknown) => null;

  let drained = 0;
  t0 = performance.now();
  while (drained < DRAIN_JOBS && performance.now() < deadline) {
    const rows = claimTx.immediate(Date.now());
    if (rows.length === 0) break;
    const ids: number[] = [];
    for (const row of rows) {
      handler(JSON.parse(row.payload));
      ids.push(row.id);
    }
    doneTx.immediate(ids);
    drained += rows.length;
    await yieldToEventLoop();
  }
  const drainMs = performance.now() - t0;
  const succeeded = db.prepare("SELECT count(*) FROM jobs WHERE state = 'succeeded'").pluck().get();
  db.close();
  if (succeeded !== DRAIN_JOBS) throw new Error(`bare drain: ${succeeded} of ${DRAIN_JOBS} succeeded`);

  return [
    {
      key: 'bare.drain',
      label: `drain ${count(DRAIN_JOBS)}, claim 100 per tx`,
      value: rate(DRAIN_JOBS, drainMs),
      unit: 'jobs/s',
    },
    {
      key: 'bare.bulk',
      label: `bulk insert ${count(BULK_JOBS)}, 1,000 per tx`,
      value: rate(BULK_JOBS, bulkMs),
      unit: 'jobs/s',
    },
    {
      key: 'bare.single',
      label: `single insert x ${count(SINGLE_JOBS)}`,
      value: rate(SINGLE_JOBS, singleMs),
      unit: 'jobs/s',
    },
  ];
}
