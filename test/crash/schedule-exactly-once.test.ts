import { describe, expect, it } from 'vitest';
import { createClient } from '../../src/client/client.js';
import { tempDbPath, tempDir } from '../helpers.js';
import { freshSchema, PG_URL, pgAvailable } from '../pg.js';
import { type Child, spawnFixture } from '../processes.js';

const available = await pgAvailable();
const dir = tempDir();
const FIRES = 200;

/**
 * Guarantee 3: each fire time of a schedule produces exactly one job, across coordinator failover.
 * Two coordinator processes share a store; an every-second schedule runs for 200 fire times while
 * the leader is SIGKILLed twice (a fresh process replaces each one killed, so two are always up).
 */
async function exactlyOnce(database: string): Promise<void> {
  const client = createClient({ store: database });
  const children: Child[] = [];
  const spawn = async () => {
    const child = spawnFixture('coordinator-child.ts', [database]);
    await child.waitFor(/^ready /);
    children.push(child);
    return child;
  };
  const leader = async (among: Child[]) => {
    const line = await Promise.race(among.map((c) => c.waitFor(/^leader /, 30_000)));
    return among.find((c) => line === `leader ${c.process.pid}`) as Child;
  };
  const fired = async () => (await client.getSchedule('tick')).fireCount;
  const waitFired = async (n: number) => {
    for (let i = 0; i < 600 && (await fired()) < n; i++) await new Promise((r) => setTimeout(r, 500));
  };
  try {
    const a = await spawn();
    const b = await spawn();
    const first = await leader([a, b]);
    await client.createSchedule({
      name: 'tick',
      task: 'noop',
      input: { at: '{{ fireTime }}' },
      trigger: { every: '1s' },
      maxRuns: FIRES,
    });

    await waitFired(60);
    first.process.kill('SIGKILL');
    await first.exited;
    const c = await spawn();
    const second = await leader([a, b, c].filter((x) => x !== first));

    await waitFired(130);
    second.process.kill('SIGKILL');
    await second.exited;
    await spawn();

    await waitFired(FIRES);
    const schedule = await client.getSchedule('tick');
    expect(schedule.state).toBe('completed');
    const runs = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const res = await client.scheduleRuns('tick', { limit: 100, ...(cursor ? { cursor } : {}) });
      runs.push(...res.runs);
      if (!res.nextCursor) break;
      cursor = res.nextCursor;
    }
    const times = runs.map((r) => r.fireTime as number).sort((x, y) => x - y);
    expect(runs).toHaveLength(FIRES);
    expect(new Set(times).size).toBe(FIRES);
    // None missing: consecutive seconds from the first to the last.
    expect((times.at(-1) as number) - (times[0] as number)).toBe((FIRES - 1) * 1000);
    const jobs = new Set(runs.map((r) => r.jobId));
    expect(jobs.size).toBe(FIRES);
    expect((await client.list({ task: 'noop', limit: 500 })).jobs).toHaveLength(FIRES);
  } finally {
    for (const child of children)
      if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGTERM');
    await Promise.all(children.map((c) => c.exited));
    await client.close();
  }
}

describe('schedules fire exactly once across coordinator failover', () => {
  it.concurrent('SQLite: two coordinator processes, leader killed twice, 200 fire times', async () => {
    await exactlyOnce(tempDbPath(dir));
  }, 300_000);
  (available ? it.concurrent : it.skip)(
    'PostgreSQL: two coordinator processes, leader killed twice, 200 fire times',
    async () => {
      await exactlyOnce(`${PG_URL}?schema=${freshSchema()}`);
    },
    300_000,
  );
});
