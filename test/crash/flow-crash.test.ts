import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createClient, createCoordinator, createSqliteStore, type Store } from '../../src/index.js';
import { createPostgresStore } from '../../src/store/postgres/store.js';
import { chainFlow, chainLink } from '../fixtures/flow-tasks.js';
import { tempDbPath, tempDir } from '../helpers.js';
import { freshSchema, PG_URL, pgAvailable } from '../pg.js';
import { type Child, spawnFixture } from '../processes.js';
import { readLedger } from './chaos.js';

const available = await pgAvailable();
const dir = tempDir();

const STEPS = 20; // long enough (about 5 s per flow) that the kills land while the flows run
const FLOWS = 3;
const KILLS = 4;

interface Entry {
  line: number;
  kind: 'start' | 'done';
  flow: string;
  step: string;
  attempt: number;
  job: string;
  pid: number;
}

function parseLedger(file: string): Entry[] {
  return readLedger(file).map((text, line) => {
    const [kind, flow, step, attempt, job, pid] = text.split(' ');
    return {
      line,
      kind: kind as Entry['kind'],
      flow: flow!,
      step: step!,
      attempt: Number(attempt),
      job: job!,
      pid: Number(pid),
    };
  });
}

/** Steps a worker's handlers have started and not finished, from its stdout ("start …" / "done …"). */
function inFlight(child: Child): string[] {
  const open = new Set<string>();
  for (const line of child.lines) {
    const [kind, ...rest] = line.split(' ');
    if (kind === 'start') open.add(rest.join(' '));
    if (kind === 'done') open.delete(rest.join(' '));
  }
  return [...open];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Two worker processes run `FLOWS` linear flows of `STEPS` steps (each step needs the previous
 * one's output). `KILLS` times, at a random moment while a step runs, the worker running it is
 * SIGKILLed and restarted; a coordinator here expires the 1 s leases. Then every flow must have
 * succeeded, each step's job succeeded exactly once with the output of the attempt that finished,
 * no step ran again (or before the step it needs) once that completed, and the attempts cut short
 * were retried. `store` (closed here) reads the results.
 */
async function runFlowCrash(o: { db: string; store: Store; ledgerFile: string }): Promise<void> {
  const env = { STINT_LEDGER: o.ledgerFile, STINT_LEASE_MS: '1000' };
  const coordinator = createCoordinator(o.store, { sweepInterval: 100, leaseTtl: 1000 });
  const client = createClient({ store: o.store, tasks: [chainLink] });
  const workers = [0, 1].map(() => spawnFixture('flow-worker-child.ts', [o.db], env));
  const killed = new Set<number>();
  const restarts: Promise<unknown>[] = [];
  try {
    coordinator.start();
    await Promise.all(workers.map((w) => w.waitFor(/^ready$/)));
    const seeds = Array.from({ length: FLOWS }, (_, i) => `seed${i}`);
    const handles = await Promise.all(
      seeds.map((seed) => client.submitFlow(chainFlow(STEPS), { store: { seed } })),
    );
    let finished = false;
    const results = Promise.allSettled(handles.map((h) => h.result({ timeout: '45s' }))).finally(() => {
      finished = true;
    });

    // Kill a worker mid-step, KILLS times: wait a random while, then until some worker has a step
    // in flight, then kill it within 100 ms of noticing (a step takes at least 150 ms).
    const deadline = Date.now() + 25_000;
    while (killed.size < KILLS && !finished && Date.now() < deadline) {
      await sleep(100 + Math.random() * 500);
      let victim = -1;
      while (victim < 0 && !finished && Date.now() < deadline) {
        victim = workers.findIndex((w) => inFlight(w).length > 0);
        if (victim < 0) await sleep(10);
      }
      if (victim < 0) break;
      await sleep(Math.random() * 100);
      const old = workers[victim]!;
      old.process.kill('SIGKILL');
      await old.exited;
      killed.add(old.process.pid!);
      // The next kill does not wait for this replacement to start: a slow start (a busy machine)
      // must not let the flows finish before the kills are done.
      workers[victim] = spawnFixture('flow-worker-child.ts', [o.db], env);
      restarts.push(
        workers[victim]!.waitFor(/^ready$/).then(
          () => null,
          (err: unknown) => err,
        ),
      );
    }
    // A replacement that never started fails the test here (held until now, not unhandled).
    const notStarted = (await Promise.all(restarts)).find((err) => err !== null);
    if (notStarted) throw notStarted;
    expect(killed.size, 'kills before the flows finished').toBe(KILLS);

    const settled = await results;
    const outputs = settled.map((s, i) => {
      if (s.status === 'rejected')
        throw new Error(`flow ${handles[i]!.id} did not succeed`, { cause: s.reason });
      return s.value as Record<string, { token: string; attempt: number; pid: number }>;
    });

    const ledger = parseLedger(o.ledgerFile);
    let interrupted = 0;
    for (const [i, handle] of handles.entries()) {
      const { flow, steps } = await handle.status();
      expect(flow.state).toBe('succeeded');
      expect(steps.map((s) => s.name)).toEqual(Array.from({ length: STEPS }, (_, k) => `s${k + 1}`));
      let prevToken = seeds[i]!;
      let prevDoneLine = -1;
      for (const step of steps) {
        const what = `flow ${handle.id} step ${step.name}`;
        expect(step.state, what).toBe('succeeded');
        const job = await client.get(step.jobId!);
        expect(job.state, what).toBe('succeeded');
        expect(job.flow, what).toEqual({ id: handle.id, step: step.name, role: 'run' });
        const events = await client.events(job.id);
        const succeeded = events.filter((e) => e.type === 'succeeded');
        expect(
          succeeded.map((e) => e.attempt),
          `${what}: one successful completion`,
        ).toEqual([job.attempt]);

        const lines = ledger.filter((e) => e.flow === handle.id && e.step === step.name);
        expect(new Set(lines.map((e) => e.job)), `${what}: one job for the step`).toEqual(new Set([job.id]));
        const starts = lines.filter((e) => e.kind === 'start');
        const dones = lines.filter((e) => e.kind === 'done');
        expect(
          starts.map((e) => e.attempt),
          `${what}: each attempt started once, in order`,
        ).toEqual([...new Set(starts.map((e) => e.attempt))].sort((a, b) => a - b));
        // The completed attempt: its side effect happened once, and its output is what was stored.
        const final = dones.filter((e) => e.attempt === job.attempt);
        expect(final, `${what}: the completed attempt ran to the end once`).toHaveLength(1);
        const expected = {
          token: `${prevToken}>${step.name}@${job.attempt}`,
          attempt: job.attempt,
          pid: final[0]!.pid,
        };
        expect(job.output, what).toEqual(expected);
        expect(step.output, what).toEqual(expected);
        expect(outputs[i]![step.name], what).toEqual(expected);
        // Nothing of this step ran after it completed, and it started only once the step it needs had.
        expect(Math.max(...lines.map((e) => e.line)), `${what}: no run after completion`).toBe(
          final[0]!.line,
        );
        expect(
          Math.min(...lines.map((e) => e.line)),
          `${what}: started after its predecessor`,
        ).toBeGreaterThan(prevDoneLine);
        // Any other attempt was cut short by a kill (or killed between its handler and its commit),
        // and the lease it held expired.
        for (const start of starts.filter((e) => e.attempt !== job.attempt)) {
          expect(killed.has(start.pid), `${what}: attempt ${start.attempt} ran in a killed worker`).toBe(
            true,
          );
          expect(start.attempt).toBeLessThan(job.attempt);
          expect(
            events.some((e) => e.type === 'lease_expired' && e.attempt === start.attempt),
            `${what}: attempt ${start.attempt} lease expired`,
          ).toBe(true);
          if (!dones.some((e) => e.attempt === start.attempt)) interrupted++;
        }
        prevToken = expected.token;
        prevDoneLine = final[0]!.line;
      }
    }
    // The kills landed on running steps (else this test proves nothing).
    expect(interrupted).toBeGreaterThanOrEqual(KILLS - 1);
  } finally {
    for (const w of workers) {
      w.process.kill('SIGTERM');
      await w.exited;
    }
    await coordinator.stop();
    await client.close();
    await o.store.close();
  }
}

describe('a 20-step flow whose workers are killed mid-step', () => {
  it('SQLite: 3 flows complete; each step completed once and never ran again', async () => {
    const db = tempDbPath(dir);
    await runFlowCrash({
      db,
      store: createSqliteStore({ path: db }),
      ledgerFile: join(dir, 'ledger-sqlite.txt'),
    });
  }, 60_000);

  it.skipIf(!available)(
    'PostgreSQL: 3 flows complete; each step completed once and never ran again',
    async () => {
      const schema = freshSchema();
      await runFlowCrash({
        db: `${PG_URL}?schema=${schema}`,
        store: createPostgresStore({ connectionString: PG_URL, schema }),
        ledgerFile: join(dir, 'ledger-pg.txt'),
      });
    },
    60_000,
  );
});
