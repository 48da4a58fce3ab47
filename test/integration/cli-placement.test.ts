import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createWorker,
  defineTask,
  type JobRecord,
  type QueueStats,
  type WorkerRecord,
} from '../../src/index.js';
import { runCli } from '../cli-run.js';
import { tempDir } from '../helpers.js';

// The CLI runs as a child process on a SQLite file that a worker in this process also uses.

const dir = tempDir();
const db = join(dir, 'placement.db');
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

const stint = (...args: string[]) => runCli([...args, '--database', db], { cwd: dir });

const hold = defineTask({
  name: 'hold',
  input: z.object({}),
  queue: 'gpu',
  run: async () => {
    await new Promise((resolve) => setTimeout(resolve, 50));
    return 'held';
  },
});

describe('stint workers, queues and placed submits', { timeout: 120_000 }, () => {
  const worker = createWorker({
    store: db,
    tasks: [hold],
    capacity: { cpu: 2, gpu: 1 },
    labels: { zone: 'eu-1' },
    coordinator: false,
    logger: quiet,
  });
  afterAll(() => worker.close());

  it('lists workers and queues, sets limits, and submits jobs with resources and labels', async () => {
    await worker.start();
    const listed = await stint('workers', 'ls', '--json');
    expect(listed.code, listed.stderr).toBe(0);
    const workers = JSON.parse(listed.stdout) as WorkerRecord[];
    expect(workers).toHaveLength(1);
    expect(workers[0]).toMatchObject({ id: worker.id, capacity: { cpu: 2, gpu: 1 }, queues: ['gpu'] });
    const human = await stint('workers', 'ls');
    expect(human.stdout).toMatch(/cpu=0\/2,gpu=0\/1/);
    expect(human.stdout).toMatch(/zone=eu-1/);

    const submitted = await stint(
      'submit',
      'hold',
      '--queue',
      'gpu',
      '--resources',
      'gpu=1',
      '--labels',
      'zone=eu-1,arch',
      '--wait',
      '--json',
    );
    expect(submitted.code, submitted.stderr).toBe(0);
    const job = JSON.parse(submitted.stdout) as JobRecord;
    expect(job).toMatchObject({
      state: 'succeeded',
      output: 'held',
      workerId: worker.id,
      placement: { resources: { gpu: 1 }, labels: { zone: 'eu-1', arch: true } },
    });

    const set = await stint('queues', 'set', 'gpu', '--max-pending', '1', '--rate', '100/1s');
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/max 1 pending \(reject\); 100 starts \/ 1000 ms/);
    await worker.stop();
    expect((await stint('submit', 'hold', '--queue', 'gpu')).code).toBe(0);
    const full = await stint('submit', 'hold', '--queue', 'gpu');
    expect(full.code).toBe(1);
    expect(full.stderr).toMatch(/queue gpu is full/);
    const queues = JSON.parse((await stint('queues', 'ls', '--json')).stdout) as QueueStats[];
    expect(queues.find((q) => q.name === 'gpu')).toMatchObject({
      pending: 1,
      succeeded: 1,
      settings: { maxPending: 1, rateLimit: { limit: 100, periodMs: 1000 } },
    });
    const bad = await stint('queues', 'set', 'gpu', '--rate', 'fast');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--rate takes starts\/period/);
  });
});
