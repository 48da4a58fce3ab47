import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type Client,
  createClient,
  createSqliteStore,
  createWorker,
  defineShellTask,
  JobFailedError,
  type Store,
  type Task,
} from '../../src/index.js';
import { eventually, tempDbPath, tempDir } from '../helpers.js';

const dir = tempDir();
const quietLogger = { debug() {}, info() {}, warn() {}, error() {} };

let open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.reverse()) await o.close();
  open = [];
});

async function setup(tasks: Task[]) {
  const store: Store = createSqliteStore({ path: tempDbPath(dir) });
  const client: Client = createClient({ store, tasks });
  const worker = createWorker({
    store,
    tasks,
    concurrency: 4,
    logger: quietLogger,
    logFlushInterval: '10ms',
  });
  open.push(store, client, worker);
  await worker.start();
  return client;
}

async function failure(client: Client, id: string) {
  const err = await client
    .job(id)
    .result({ timeout: '20s' })
    .then(
      () => null,
      (e: unknown) => e,
    );
  expect(err).toBeInstanceOf(JobFailedError);
  return (err as JobFailedError).error;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const none = z.object({});

describe('shell sandbox', () => {
  it('captures stdout line by line in order, and stderr', async () => {
    const count = defineShellTask({
      name: 'sh.count',
      input: z.object({ n: z.number() }),
      command: [
        'sh',
        '-c',
        'i=1; while [ $i -le $0 ]; do echo "line $i"; i=$((i+1)); done; echo done >&2',
        '{{input.n}}',
      ],
    });
    const client = await setup([count]);
    const h = await client.submit(count, { n: 300 });
    expect(await h.result({ timeout: '20s' })).toBeNull();
    const logs = await client.logs(h.id);
    const out = logs.filter((l) => l.stream === 'stdout').map((l) => l.message);
    expect(out).toEqual(Array.from({ length: 300 }, (_, i) => `line ${i + 1}`));
    expect(logs.filter((l) => l.stream === 'stderr').map((l) => l.message)).toEqual(['done']);
  });

  it('fails on a non-zero exit code, with the code and the last stderr lines', async () => {
    const bad = defineShellTask({
      name: 'sh.bad',
      input: none,
      retry: { maxAttempts: 1 },
      command: ['sh', '-c', 'echo "something broke" >&2; exit 7'],
    });
    const client = await setup([bad]);
    const h = await client.submit(bad, {});
    const error = await failure(client, h.id);
    expect(error.code).toBe('SANDBOX_FAILED');
    expect(error.message).toMatch(/exited with code 7/);
    expect(error.message).toMatch(/something broke/);
  });

  it('passes values with spaces, quotes and ; as single arguments (no shell)', async () => {
    const marker = join(dir, 'injected');
    const args = defineShellTask({
      name: 'sh.args',
      input: z.object({ a: z.string(), b: z.string() }),
      env: { VALUE: '{{input.b}}' },
      command: ['printf', '%s\\n', '{{input.a}}', '{{input.b}}'],
    });
    const viaEnv = defineShellTask({
      name: 'sh.env',
      input: z.object({ b: z.string() }),
      env: { VALUE: '{{input.b}}' },
      command: ['sh', '-c', 'printf "%s\\n" "$VALUE"'],
    });
    const client = await setup([args, viaEnv]);
    const a = `hello world; touch ${marker}`;
    const b = `"double" 'single' $(touch ${marker}) \`touch ${marker}\` & | > x`;
    const h = await client.submit(args, { a, b });
    await h.result({ timeout: '20s' });
    expect((await client.logs(h.id)).map((l) => l.message)).toEqual([a, b]);
    const e = await client.submit(viaEnv, { b });
    await e.result({ timeout: '20s' });
    expect((await client.logs(e.id)).map((l) => l.message)).toEqual([b]);
    expect(existsSync(marker)).toBe(false);
  });

  it('quotes filled values for the shell when the task asks for one', async () => {
    const marker = join(dir, 'injected-shell');
    const upper = defineShellTask({
      name: 'sh.upper',
      input: z.object({ text: z.string() }),
      shell: true,
      command: ['printf', '%s', '{{input.text}}', '|', 'tr', 'a-z', 'A-Z'],
    });
    const client = await setup([upper]);
    const text = `it's; touch ${marker}`;
    const h = await client.submit(upper, { text });
    await h.result({ timeout: '20s' });
    expect((await client.logs(h.id)).map((l) => l.message)).toEqual([text.toUpperCase()]);
    expect(existsSync(marker)).toBe(false);
  });

  it('returns the last JSON line of stdout when asked', async () => {
    const json = defineShellTask({
      name: 'sh.json',
      input: none,
      result: 'last-json-line',
      output: z.object({ n: z.number() }),
      command: ['sh', '-c', 'echo working; echo \'{"n": 1}\'; echo \'{"n": 2}\'; echo bye'],
    });
    const client = await setup([json]);
    expect(await client.run(json, {}, { timeout: '20s' })).toEqual({ n: 2 });
  });

  it('on timeout kills the whole process group, SIGKILL after the grace period', async () => {
    const pidFile = join(dir, 'grandchild.pid');
    const stubborn = defineShellTask({
      name: 'sh.stubborn',
      input: z.object({ pidFile: z.string() }),
      retry: { maxAttempts: 1 },
      timeout: '1s',
      killGrace: '300ms',
      // Ignores SIGTERM, and so does its grandchild (ignored signals are inherited).
      command: ['sh', '-c', 'trap "" TERM; sleep 60 & echo $! > "$0"; wait', '{{input.pidFile}}'],
    });
    const client = await setup([stubborn]);
    const h = await client.submit(stubborn, { pidFile });
    const error = await failure(client, h.id);
    expect(error.code).toBe('JOB_TIMEOUT');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(pid).toBeGreaterThan(0);
    await eventually(() => !alive(pid), 5000, `grandchild ${pid} to be killed`);
  });

  it('kills what the command left running in the background when it exits', async () => {
    const pidFile = join(dir, 'background.pid');
    const leaves = defineShellTask({
      name: 'sh.leaves',
      input: z.object({ pidFile: z.string() }),
      command: ['sh', '-c', 'sleep 60 > /dev/null 2>&1 & echo $! > "$0"', '{{input.pidFile}}'],
    });
    const client = await setup([leaves]);
    await client.run(leaves, { pidFile }, { timeout: '20s' });
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await eventually(() => !alive(pid), 5000, `background process ${pid} to be killed`);
  });

  it('a missing program fails the attempt with a clear error', async () => {
    const missing = defineShellTask({
      name: 'sh.missing',
      input: none,
      retry: { maxAttempts: 1 },
      command: ['stint-no-such-program-x'],
    });
    const client = await setup([missing]);
    const h = await client.submit(missing, {});
    const error = await failure(client, h.id);
    expect(error.message).toMatch(/cannot run stint-no-such-program-x: .*ENOENT/);
  });
});
