import { afterEach, describe, expect, it } from 'vitest';
import {
  type Client,
  createClient,
  createSqliteStore,
  createWorker,
  JobFailedError,
  type Store,
  type Worker,
  type WorkerOptions,
} from '../../src/index.js';
import { echo, exits, hogs, spins, throws, whereAmI } from '../fixtures/sandbox-tasks.js';
import { tempDbPath, tempDir } from '../helpers.js';

const dir = tempDir();
const quietLogger = { debug() {}, info() {}, warn() {}, error() {} };
const tasks = [echo, exits, spins, hogs, throws, whereAmI];

let open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.reverse()) await o.close();
  open = [];
});

function setup(options: Partial<WorkerOptions> = {}) {
  const store: Store = createSqliteStore({ path: tempDbPath(dir) });
  const client: Client = createClient({ store, tasks });
  const worker: Worker = createWorker({
    store,
    tasks,
    concurrency: 4,
    logger: quietLogger,
    logFlushInterval: '10ms',
    ...options,
  });
  open.push(store, client, worker);
  return { store, client, worker };
}

async function failure(client: Client, id: string) {
  const error = await client
    .job(id)
    .result({ timeout: '20s' })
    .then(
      () => null,
      (err: unknown) => err,
    );
  expect(error).toBeInstanceOf(JobFailedError);
  return (error as JobFailedError).error;
}

describe('process sandbox', () => {
  it('runs the job in a child, with its output, ctx.log, stdout and stderr in the job logs', async () => {
    const { client, worker } = setup();
    await worker.start();
    const out = await client.run(echo, { text: 'hello' }, { timeout: '20s' });
    expect(out.text).toBe('hello');
    expect(out.pid).not.toBe(process.pid);
    const h = await client.submit(echo, { text: 'again' });
    await h.result({ timeout: '20s' });
    const logs = await client.logs(h.id);
    const lines = logs.map((l) => [l.stream, l.message]);
    expect(lines).toEqual([
      ['stdout', 'out: again'],
      ['stderr', 'err: again'],
      ['log', 'from ctx.log'],
    ]);
    expect(logs[2]?.fields).toEqual({ n: 1 });
    expect((await client.get(h.id)).progress).toEqual({ done: 1, total: 2 });
  });

  it('reuses children between jobs', async () => {
    const { client, worker } = setup({ concurrency: 1 });
    await worker.start();
    const a = await client.run(echo, { text: 'a' }, { timeout: '20s' });
    const b = await client.run(echo, { text: 'b' }, { timeout: '20s' });
    expect(a.pid).toBe(b.pid);
  });

  it('survives process.exit, a busy loop past its timeout and running out of memory, and keeps running jobs', async () => {
    const { client, worker } = setup();
    await worker.start();
    const [exit, spin, hog] = await Promise.all([
      client.submit(exits, {}),
      client.submit(spins, {}),
      client.submit(hogs, {}),
    ]);
    const exitError = await failure(client, exit.id);
    expect(exitError.code).toBe('SANDBOX_FAILED');
    expect(exitError.message).toMatch(/exited with code 3/);
    const spinError = await failure(client, spin.id);
    expect(spinError.code).toBe('JOB_TIMEOUT');
    const hogError = await failure(client, hog.id);
    expect(hogError.code).toBe('SANDBOX_FAILED');
    expect(hogError.message).toMatch(/ran out of memory \(heap limit 64 MiB\)/);
    expect((await client.logs(exit.id)).map((l) => [l.stream, l.message])).toEqual([
      ['stdout', 'about to exit'],
    ]);
    expect(worker.state).toBe('running');
    expect((await client.run(echo, { text: 'still here' }, { timeout: '20s' })).text).toBe('still here');
  });

  it('keeps an error thrown in the child: its name, code and retryable flag', async () => {
    const { client, worker } = setup();
    await worker.start();
    const h = await client.submit(throws, {});
    const error = await failure(client, h.id);
    expect(error).toMatchObject({ message: 'bad thing', code: 'E_BAD', retryable: false });
    expect((await client.get(h.id)).attempt).toBe(1);
  });

  it('cancelling a running job kills its child', async () => {
    const { client, worker } = setup();
    await worker.start();
    const h = await client.submit(spins, {}, { timeout: '30s' });
    for (let i = 0; i < 200 && (await h.status()) !== 'running'; i++)
      await new Promise((r) => setTimeout(r, 25));
    await h.cancel();
    await expect(h.result({ timeout: '20s' })).rejects.toMatchObject({ code: 'JOB_CANCELLED' });
    expect((await client.run(echo, { text: 'next' }, { timeout: '20s' })).text).toBe('next');
  });

  it('a submission moves an inline task into a process, and back', async () => {
    const { client, worker } = setup();
    await worker.start();
    expect(await client.run(whereAmI, {}, { timeout: '20s' })).toEqual({ pid: process.pid, child: false });
    const moved = await client.submit(whereAmI, {}, { sandbox: 'process' });
    expect((await client.get(moved.id)).sandbox).toEqual({ kind: 'process' });
    expect(await moved.result({ timeout: '20s' })).toMatchObject({ child: true });
    const back = await client.run(echo, { text: 'x' }, { sandbox: { kind: 'inline' }, timeout: '20s' });
    expect(back.pid).toBe(process.pid);
  });

  it('rejects a bad override at submit', async () => {
    const { client } = setup();
    await expect(client.submit(echo, { text: 'x' }, { sandbox: { memoryMb: 1 } })).rejects.toMatchObject({
      code: 'VALIDATION',
    });
    await expect(
      client.submit(echo, { text: 'x' }, { sandbox: { kind: 'shell' } as never }),
    ).rejects.toMatchObject({ code: 'VALIDATION' });
  });
});
