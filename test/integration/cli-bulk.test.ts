import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createSqliteStore, createWorker, defineTask, PermanentError } from '../../src/index.js';
import { runCli } from '../cli-run.js';
import { tempDir } from '../helpers.js';

const dir = tempDir('stint-cli-bulk-');
const stint = (args: string[], stdin?: string) =>
  runCli(args, { cwd: dir, ...(stdin !== undefined ? { stdin } : {}) });

const square = defineTask({
  name: 'square',
  input: z.object({ n: z.number() }),
  retry: { maxAttempts: 1 },
  run: (_ctx, { n }) => {
    if (n < 0) throw new PermanentError(`no square of a negative number here (${n})`);
    return n * n;
  },
});

describe('stint submit --input-file', () => {
  it('submits one job per JSON line or array item, from a file or stdin, and prints the ids', async () => {
    const db = join(dir, 'bulk.db');
    const lines = join(dir, 'inputs.jsonl');
    writeFileSync(lines, Array.from({ length: 2500 }, (_, i) => JSON.stringify({ n: i })).join('\n\n'));
    const fromFile = await stint(['submit', 'square', '--input-file', lines, '--database', db]);
    expect(fromFile.code, fromFile.stderr).toBe(0);
    const ids = fromFile.stdout.trim().split('\n');
    expect(ids).toHaveLength(2500);
    expect(new Set(ids).size).toBe(2500);
    // Not a terminal: no progress bar drawn.
    expect(fromFile.stderr).not.toContain('[#');

    const fromStdin = await stint(
      ['submit', 'square', '--input-file', '-', '--json', '--database', db],
      JSON.stringify([{ n: 1 }, { n: 2 }]),
    );
    expect(fromStdin.code, fromStdin.stderr).toBe(0);
    expect((JSON.parse(fromStdin.stdout) as { ids: string[] }).ids).toHaveLength(2);

    const store = createSqliteStore({ path: db });
    try {
      const page = await store.listJobs({ task: ['square'], limit: 1 } as never);
      expect(page.jobs[0]?.input).toEqual({ n: 2 });
    } finally {
      await store.close();
    }
  }, 120_000);

  it('names the line that is not JSON, and refuses --dedup-key (exit 2)', async () => {
    const db = join(dir, 'bad.db');
    const file = join(dir, 'bad.jsonl');
    writeFileSync(file, '{"n":1}\n{"n":\n');
    const bad = await stint(['submit', 'square', '--input-file', file, '--database', db]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/line 2 is not valid JSON/);
    const dedup = await stint(
      ['submit', 'square', '--input-file', '-', '--dedup-key', 'k', '--database', db],
      '{"n":1}\n',
    );
    expect(dedup.code).toBe(2);
    expect(dedup.stderr).toMatch(/--dedup-key/);
  }, 60_000);

  it('--wait waits for every job and exits 1 when one failed', async () => {
    const db = join(dir, 'wait.db');
    const store = createSqliteStore({ path: db });
    const worker = createWorker({ store, tasks: [square], concurrency: 4 });
    await worker.start();
    try {
      const ok = await stint(
        ['submit', 'square', '--input-file', '-', '--wait', '--json', '--database', db],
        '{"n":3}\n{"n":4}\n',
      );
      expect(ok.code, ok.stderr).toBe(0);
      const jobs = (JSON.parse(ok.stdout) as { jobs: { state: string }[] }).jobs;
      expect(jobs.map((j) => j.state)).toEqual(['succeeded', 'succeeded']);

      const failing = await stint(
        ['submit', 'square', '--input-file', '-', '--wait', '--database', db],
        '{"n":5}\n{"n":-1}\n',
      );
      expect(failing.code).toBe(1);
      expect(failing.stdout).toMatch(/\bsucceeded\n.*\bfailed\n/);
      expect(failing.stderr).toMatch(/1 of 2 jobs did not succeed/);
    } finally {
      await worker.stop();
      await store.close();
    }
  }, 120_000);
});
