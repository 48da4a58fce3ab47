import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createHttpClient, type HttpClient } from '../../src/client/http.js';
import { freshSchema, PG_URL, pgAvailable } from '../pg.js';
import { type Child, spawnFixture } from '../processes.js';

const available = await pgAvailable();

/** Who holds the coordinator lease now (by the database's clock), or null. */
async function coordinatorHolder(schema: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT holder FROM "${schema}".leases WHERE name = 'coordinator' AND expires_at > (extract(epoch from now()) * 1000)::bigint`,
    );
    return (rows[0]?.holder as string | undefined) ?? null;
  } finally {
    await client.end();
  }
}

/** Polls `check` every 200ms until it returns a value, for at most `ms`. */
async function until<T>(what: string, ms: number, check: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms}ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function startServer(db: string): Promise<{ child: Child; client: HttpClient }> {
  const child = spawnFixture('cli.ts', ['--database', db, 'server', '--port', '0', '--no-auth']);
  const line = await child.waitFor(/listening on http/, 30_000);
  const url = /listening on (http\S+)/.exec(line)?.[1] as string;
  return { child, client: createHttpClient({ url }) };
}

describe.skipIf(!available)('two stint servers on one PostgreSQL database', () => {
  it('share jobs, and schedules keep firing after the coordinator holder is killed', async () => {
    const schema = freshSchema('stint_two_servers');
    const db = `${PG_URL}?schema=${schema}`;
    // One after the other: the first creates the schema.
    const a = await startServer(db);
    const b = await startServer(db);
    try {
      // A job submitted through one is visible and cancellable through the other.
      const job = await a.client.submit('nobody-runs-this', { n: 1 });
      expect(await b.client.get(job.id)).toMatchObject({ id: job.id, state: 'pending' });
      expect(await b.client.cancel(job.id, 'through b')).toMatchObject({ state: 'cancelled' });
      expect(await a.client.get(job.id)).toMatchObject({
        state: 'cancelled',
        error: { message: 'through b' },
      });

      await b.client.createSchedule({ name: 'tick', trigger: { every: '1s' }, task: 'nobody-runs-this' });
      const holder = await until('a coordinator holder', 15_000, () => coordinatorHolder(schema));
      const [dying, survivor] = holder.includes(`:${a.child.process.pid}:`) ? [a, b] : [b, a];
      expect(holder).toContain(`:${dying.child.process.pid}:`);
      await until('a first fire', 15_000, async () => {
        const { runs } = await survivor.client.scheduleRuns('tick', { limit: 1 });
        return runs.length > 0 ? true : null;
      });

      dying.child.process.kill('SIGKILL');
      await dying.child.exited;
      const killedAt = Date.now();

      // The survivor takes the lease once it expires (5s) and fires the schedule on; every fire time once.
      const after = await until('fires after the kill', 30_000, async () => {
        const { runs } = await survivor.client.scheduleRuns('tick', { limit: 50 });
        const late = runs.filter((r) => (r.fireTime ?? 0) > killedAt + 1000);
        return late.length >= 3 ? runs : null;
      });
      expect(await coordinatorHolder(schema)).toContain(`:${survivor.child.process.pid}:`);
      const fireTimes = after.map((r) => r.fireTime);
      expect(new Set(fireTimes).size).toBe(fireTimes.length);
      expect((await survivor.client.getSchedule('tick')).state).toBe('active');
    } finally {
      await a.client.close();
      await b.client.close();
      for (const s of [a, b])
        if (s.child.process.exitCode === null && s.child.process.signalCode === null) {
          s.child.process.kill('SIGTERM');
          await s.child.exited;
        }
    }
  }, 120_000);
});
