import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createClient,
  createPostgresStore,
  createSqliteStore,
  createWorker,
  defineTask,
  type JobLogEntry,
  type Store,
  type Task,
} from '../../src/index.js';
import { tempDbPath, tempDir } from '../helpers.js';
import { freshSchema, PG_URL, pgAvailable } from '../pg.js';

const dir = tempDir();
const pg = await pgAvailable();
const quietLogger = { debug() {}, info() {}, warn() {}, error() {} };

let open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.reverse()) await o.close();
  open = [];
});

const stores = [
  { name: 'sqlite', skip: false, make: (): Store => createSqliteStore({ path: tempDbPath(dir) }) },
  {
    name: 'postgres',
    skip: !pg,
    make: (): Store =>
      createPostgresStore({ connectionString: PG_URL, schema: freshSchema(), maxConnections: 4 }),
  },
];

/** Resolves the next time `release` is called (a gate a handler waits on). */
function gate() {
  let release: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { opened, release };
}

describe.each(stores)('job logs on $name', ({ make, skip }) => {
  function setup(tasks: Task[], maxLogLines?: number) {
    const store = make();
    const client = createClient({ store, tasks });
    const worker = createWorker({
      store,
      tasks,
      concurrency: 2,
      logger: quietLogger,
      logFlushInterval: '10ms',
      ...(maxLogLines ? { maxLogLines } : {}),
    });
    open.push(store, client, worker);
    return { store, client, worker };
  }

  it.skipIf(skip)('stores and reads each line with its stream, attempt and time', async () => {
    const noop = defineTask({ name: 'noop', input: z.object({}), run: () => null });
    const { store, client } = setup([noop]);
    const h = await client.submit(noop, {});
    const [job] = await store.claimJobs({
      workerId: 'w',
      queues: ['default'],
      tasks: ['noop'],
      limit: 1,
      leaseMs: 10_000,
    });
    expect(job?.id).toBe(h.id);
    const at = Date.now();
    await store.completeJobs({
      completions: [],
      logs: [
        { jobId: h.id, attempt: 1, at, level: 'info', stream: 'stdout', message: 'out', fields: null },
        { jobId: h.id, attempt: 1, at, level: 'warn', stream: 'stderr', message: 'err', fields: null },
        { jobId: h.id, attempt: 1, at, level: 'info', message: 'no stream given', fields: { k: 1 } },
      ],
    });
    const logs = await client.logs(h.id);
    expect(logs.map((l) => [l.stream, l.level, l.message, l.attempt, l.at])).toEqual([
      ['stdout', 'info', 'out', 1, at],
      ['stderr', 'warn', 'err', 1, at],
      ['log', 'info', 'no stream given', 1, at],
    ]);
    expect(await client.logs(h.id, { afterId: logs[1]?.id })).toHaveLength(1);
  });

  it.skipIf(skip)(
    "stores a submission's sandbox override with the job, and claims hand it over",
    async () => {
      const noop = defineTask({ name: 'noop', input: z.object({}), run: () => null });
      const { store, client } = setup([noop]);
      const a = await client.submit(noop, {}, { sandbox: { kind: 'process', memoryMb: 128 } });
      const [b, c] = await client.submitMany(noop, [{}, {}], { sandbox: 'process' });
      const plain = await client.submit(noop, {});
      expect((await client.get(a.id)).sandbox).toEqual({ kind: 'process', memoryMb: 128 });
      expect((await client.get(plain.id)).sandbox).toBeNull();
      const claimed = await store.claimJobs({
        workerId: 'w',
        queues: ['default'],
        tasks: ['noop'],
        limit: 10,
        leaseMs: 10_000,
      });
      expect(Object.fromEntries(claimed.map((j) => [j.id, j.sandbox]))).toEqual({
        [a.id]: { kind: 'process', memoryMb: 128 },
        [b?.id as string]: { kind: 'process' },
        [c?.id as string]: { kind: 'process' },
        [plain.id]: null,
      });
    },
  );

  it.skipIf(skip)('followLogs yields lines as they are written and ends when the job ends', async () => {
    const first = gate();
    const second = gate();
    const slow = defineTask({
      name: 'slow',
      input: z.object({}),
      async run(ctx) {
        ctx.log.info('one');
        await first.opened;
        ctx.log.info('two');
        await second.opened;
        ctx.log.info('three');
        return null;
      },
    });
    const { client, worker } = setup([slow]);
    await worker.start();
    const h = await client.submit(slow, {});
    const seen: JobLogEntry[] = [];
    const followed = (async () => {
      for await (const line of client.followLogs(h.id, { pollMs: 20 })) {
        seen.push(line);
        if (line.message === 'one') first.release();
        if (line.message === 'two') second.release();
      }
    })();
    const deadline = new Promise((_, reject) => {
      const t = setTimeout(() => reject(new Error('follow did not end within 15s')), 15_000);
      void followed.finally(() => clearTimeout(t));
    });
    await Promise.race([followed, deadline]);
    expect(seen.map((l) => l.message)).toEqual(['one', 'two', 'three']);
    expect(await h.status()).toBe('succeeded');
  });

  it.skipIf(skip)('followLogs stops when its signal aborts, and names a missing job', async () => {
    const waits = gate();
    const forever = defineTask({
      name: 'forever',
      input: z.object({}),
      async run(ctx) {
        ctx.log.info('started');
        await waits.opened;
        return null;
      },
    });
    const { client, worker } = setup([forever]);
    await worker.start();
    const h = await client.submit(forever, {});
    const stop = new AbortController();
    const seen: string[] = [];
    for await (const line of client.followLogs(h.id, { signal: stop.signal, pollMs: 20 })) {
      seen.push(line.message);
      stop.abort();
    }
    expect(seen).toEqual(['started']);
    waits.release();
    await h.result({ timeout: '10s' });
    const missing = client.followLogs('999999')[Symbol.asyncIterator]();
    await expect(missing.next()).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
  });

  it.skipIf(skip)('keeps maxLogLines lines per attempt, then one truncation marker', async () => {
    const chatty = defineTask({
      name: 'chatty',
      input: z.object({}),
      run(ctx) {
        for (let i = 1; i <= 12; i++) ctx.log.info(`line ${i}`);
        return null;
      },
    });
    const { client, worker } = setup([chatty], 5);
    await worker.start();
    const h = await client.submit(chatty, {});
    await h.result({ timeout: '10s' });
    const logs = await client.logs(h.id);
    expect(logs.map((l) => l.message)).toEqual([
      'line 1',
      'line 2',
      'line 3',
      'line 4',
      'line 5',
      'log truncated: more than 5 lines in this attempt',
    ]);
    expect(logs.at(-1)).toMatchObject({ level: 'warn', stream: 'log' });
  });
});
