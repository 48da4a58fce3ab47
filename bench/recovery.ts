/**
 * Scenario `recovery`: how long a SIGKILLed worker's job takes to run again on another worker,
 * with default settings (lease 10 s renewed every 3.3 s; coordinator sweep every 1 s under a 5 s
 * coordinator lease; the default retry policy). The product promises at most 15 s.
 *
 * Two worker processes (bench/worker-process.ts, mode `recovery`) share one store (a SQLite file, or
 * with `--store postgres` a PostgreSQL schema). The first
 * starts its worker (and so takes the coordinator lease), then the second; both are then idle.
 * After a random pause of 0-1 s (so the survivor's once-a-second sweep has a random phase
 * against the lease, as it would in practice), this process submits one job. Whichever worker
 * claims it (call it A) says its handler started attempt 1 and hangs; A is SIGKILLed at once.
 * The figure is the time from the kill to the other worker (B) starting attempt 2 (wall clock in
 * both processes). The job's `lease_expired` event splits it in two.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createClient } from '../src/index.js';
import {
  endChild,
  forkTs,
  type Metric,
  nextMessage,
  recoveryTask,
  type ScenarioContext,
  sleep,
  wallNow,
} from './lib.js';

/** Give up on the job running again this long after the kill. */
const RECOVERY_DEADLINE_MS = 40_000;
/** Loading a child (tsx, stint) and starting a worker; the first start of the job. */
const START_DEADLINE_MS = 12_000;
const TARGET_S = 15;

interface Started {
  type: 'started';
  id: string;
  attempt: number;
  pid: number;
  at: number;
}

const is = (type: string) => (m: unknown) => ((m as { type?: string }).type === type ? true : undefined);

/** The first `started` message of attempt `attempt` of job `id` from any of `children`. */
function nextStart(
  children: ChildProcess[],
  id: string,
  attempt: number,
  ms: number,
): Promise<{ child: ChildProcess; start: Started }> {
  return new Promise((resolve, reject) => {
    const listeners = children.map((child) => {
      const onMessage = (m: unknown) => {
        const s = m as Partial<Started>;
        if (s.type !== 'started' || s.id !== id || s.attempt !== attempt) return;
        cleanup();
        resolve({ child, start: s as Started });
      };
      const onExit = () => {
        cleanup();
        reject(new Error(`worker ${child.pid} exited while waiting for attempt ${attempt}`));
      };
      child.on('message', onMessage);
      child.on('exit', onExit);
      return { child, onMessage, onExit };
    });
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${ms}ms waiting for attempt ${attempt} of job ${id}`));
    }, ms);
    function cleanup() {
      clearTimeout(timer);
      for (const l of listeners) {
        l.child.off('message', l.onMessage);
        l.child.off('exit', l.onExit);
      }
    }
  });
}

function readDb<T>(path: string, read: (db: Database.Database) => T): T {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

/** Where the two workers and the submitter meet, and how to read who held the coordinator lease. */
interface RecoveryStore {
  url: string;
  coordinatorHolder(): Promise<string | undefined>;
}

export async function recovery(ctx: ScenarioContext): Promise<Metric[]> {
  const path = join(ctx.dir, 'recovery.db');
  return runRecovery({
    url: path,
    coordinatorHolder: async () =>
      readDb(
        path,
        (db) =>
          db.prepare("SELECT holder FROM leases WHERE name = 'coordinator'").pluck().get() as
            | string
            | undefined,
      ),
  });
}

/** The same on PostgreSQL (`--store postgres`): a fresh schema, dropped afterwards. */
export async function pgRecovery(): Promise<Metric[]> {
  const { PG_URL, dropSchema, freshSchema, withPg } = await import('./pg-systems.js');
  const schema = freshSchema('stint');
  try {
    return await runRecovery({
      url: `${PG_URL}?schema=${schema}`,
      coordinatorHolder: () =>
        withPg(async (c) => {
          const { rows } = await c.query(`SELECT holder FROM "${schema}".leases WHERE name = 'coordinator'`);
          return (rows[0] as { holder?: string } | undefined)?.holder;
        }),
    });
  } finally {
    await dropSchema(schema);
  }
}

async function runRecovery(where: RecoveryStore): Promise<Metric[]> {
  const task = recoveryTask();
  // Opening the client creates and migrates the store before either worker opens it.
  const client = createClient({ store: where.url, tasks: [task] });
  await client.store.now();
  const workers = [
    forkTs('worker-process.ts', ['recovery', where.url]),
    forkTs('worker-process.ts', ['recovery', where.url]),
  ];
  try {
    await Promise.all(
      workers.map((w) => nextMessage(w, is('loaded'), START_DEADLINE_MS, `worker ${w.pid} to load`)),
    );
    for (const w of workers) {
      w.send({ type: 'start' });
      await nextMessage(w, is('ready'), START_DEADLINE_MS, `worker ${w.pid} to start`);
    }
    await sleep(Math.random() * 1000);

    const job = await client.submit(task, {});
    const { child: a } = await nextStart(workers, job.id, 1, START_DEADLINE_MS);
    const b = workers.find((w) => w !== a) as ChildProcess;
    const second = nextStart([b], job.id, 2, RECOVERY_DEADLINE_MS);
    const killedAt = wallNow();
    a.kill('SIGKILL');
    const coordinator = await where.coordinatorHolder();
    const { start } = await second;
    if (start.pid !== b.pid) throw new Error('recovery: attempt 2 ran outside the surviving worker');
    const output = await job.result({ timeout: '10s' });
    if (output !== 'recovered') throw new Error(`recovery: attempt 2 returned ${String(output)}`);

    const expiredAt = (await client.events(job.id)).find(
      (e) => e.type === 'lease_expired' && e.attempt === 1,
    )?.at;
    if (expiredAt === undefined) throw new Error(`recovery: job ${job.id} has no lease_expired event`);
    const s = (ms: number) => ms / 1000;
    return [
      {
        key: 'recovery.seconds',
        label: 'SIGKILL of the worker -> attempt 2 starts on the other',
        value: s(start.at - killedAt),
        unit: 's',
        target: { op: '<=', value: TARGET_S },
      },
      {
        key: 'recovery.expired',
        label: 'of which: kill -> the sweep expires the lease',
        value: s(expiredAt - killedAt),
        unit: 's',
      },
      {
        key: 'recovery.claim',
        label: 'of which: lease expired -> attempt 2 starts',
        value: s(start.at - expiredAt),
        unit: 's',
      },
      {
        key: 'recovery.coordinator',
        label: 'the killed worker held the coordinator lease (1 = yes)',
        value: coordinator?.includes(`:${a.pid}:`) ? 1 : 0,
        unit: 'count',
      },
    ];
  } finally {
    for (const w of workers) await endChild(w);
    await client.close();
  }
}
