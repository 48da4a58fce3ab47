import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { JobRecord, Store } from '../../src/index.js';
import { spawnFixture } from '../processes.js';

export function readLedger(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

async function allJobs(store: Store): Promise<JobRecord[]> {
  const jobs: JobRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listJobs({ limit: 1000, ...(cursor ? { cursor } : {}) });
    jobs.push(...page.jobs);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return jobs;
}

/**
 * Two submitter processes (one in batches, one job at a time; or, with `dedupKeys`, both one job
 * at a time with a key each, retrying failed submits) and `workers` worker processes share `db`;
 * `kills` times, at a random moment, a random worker is SIGKILLed and restarted, and `disrupt`
 * (if given) runs while work is in flight. Then: every job succeeded; its final attempt appears in
 * the handlers' ledger exactly once, no attempt ran after it, and each succeeded exactly once.
 * `store` (closed here) reads the results.
 */
export async function runChaos(o: {
  db: string;
  store: Store;
  ledgerFile: string;
  total: number;
  workers: number;
  kills: number;
  dedupKeys?: boolean;
  disrupt?: () => Promise<void>;
  /** Jobs must have been retried after the disruption (false when it cannot be told apart). */
  expectRetries?: boolean;
}): Promise<{ submitRetries: number }> {
  const env = { STINT_LEDGER: o.ledgerFile, STINT_LEASE_MS: '1000', STINT_CONCURRENCY: '20' };
  const workers = Array.from({ length: o.workers }, () => spawnFixture('worker-child.ts', [o.db], env));
  try {
    await Promise.all(workers.map((w) => w.waitFor(/^ready /)));
    const submitters = o.dedupKeys
      ? [
          spawnFixture('submitter-child.ts', [o.db, String(o.total / 2), '1', 'a']),
          spawnFixture('submitter-child.ts', [o.db, String(o.total / 2), '1', 'b']),
        ]
      : [
          spawnFixture('submitter-child.ts', [o.db, String(o.total / 2), '50']),
          spawnFixture('submitter-child.ts', [o.db, String(o.total / 2), '1']),
        ];
    const idOf = async (w: (typeof workers)[number]) => (await w.waitFor(/^ready /)).slice('ready '.length);
    for (let kill = 0; kill < o.kills; kill++) {
      await new Promise((r) => setTimeout(r, 300 + Math.random() * 700));
      // Kill a worker that holds jobs (a kill between jobs proves nothing), if one does within 3 s.
      let victim = Math.floor(Math.random() * workers.length);
      const ids = await Promise.all(workers.map(idOf));
      for (let tries = 0; tries < 150; tries++) {
        const running = (await o.store.listJobs({ state: 'running', limit: 100 })).jobs;
        const holders = new Set(running.map((j) => j.workerId));
        const holder = ids.findIndex((id) => holders.has(id));
        if (holder >= 0) {
          victim = holder;
          break;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      const old = workers[victim]!;
      old.process.kill('SIGKILL');
      await old.exited;
      workers[victim] = spawnFixture('worker-child.ts', [o.db], env);
      await workers[victim]!.waitFor(/^ready /);
    }
    if (o.disrupt) {
      // Disrupt mid-way: once a fifth of the jobs are in.
      for (let i = 0; i < 300; i++) {
        const [newest] = (await o.store.listJobs({ limit: 1 })).jobs;
        if (newest && Number(newest.id) >= o.total / 5) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await o.disrupt();
    }
    const done = await Promise.all(submitters.map((s) => s.waitFor(/^done /, 90_000)));
    const submitRetries = done.reduce((sum, line) => sum + Number(/retries (\d+)/.exec(line)?.[1] ?? 0), 0);

    const deadline = Date.now() + 90_000;
    for (;;) {
      const pending = await o.store.listJobs({ state: ['pending', 'running'], limit: 1 });
      if (pending.jobs.length === 0) break;
      if (Date.now() > deadline) throw new Error('jobs still unfinished after 90 s');
      await new Promise((r) => setTimeout(r, 200));
    }

    const jobs = await allJobs(o.store);
    expect(jobs).toHaveLength(o.total);
    expect(jobs.filter((j) => j.state !== 'succeeded')).toEqual([]);
    const byJob = new Map<string, number[]>();
    for (const line of readLedger(o.ledgerFile)) {
      const [id, attempt] = line.split(' ');
      byJob.set(id!, [...(byJob.get(id!) ?? []), Number(attempt)]);
    }
    for (const job of jobs) {
      const attempts = byJob.get(job.id) ?? [];
      expect(
        attempts.filter((a) => a === job.attempt),
        `job ${job.id} final attempt in ledger`,
      ).toHaveLength(1);
      expect(Math.max(...attempts), `job ${job.id}: no attempt ran after the final one`).toBe(job.attempt);
      expect(new Set(attempts).size, `job ${job.id}: each attempt completed at most once`).toBe(
        attempts.length,
      );
    }
    const retried = jobs.filter((j) => j.attempt > 1);
    // The kills landed on jobs in flight (else this test proves nothing).
    if (o.expectRetries !== false) expect(retried.length).toBeGreaterThan(0);
    for (const job of retried.slice(0, 50)) {
      const succeeded = (await o.store.getJobEvents(job.id)).filter((e) => e.type === 'succeeded');
      expect(succeeded).toHaveLength(1);
      expect(succeeded[0]!.attempt).toBe(job.attempt);
    }
    return { submitRetries };
  } finally {
    for (const w of workers) {
      w.process.kill('SIGTERM');
      await w.exited;
    }
    await o.store.close();
  }
}
