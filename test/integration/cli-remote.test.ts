import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newApiToken } from '../../src/server/auth-crypto.js';
import { createSqliteStore } from '../../src/store/sqlite/store.js';
import { runCli } from '../cli-run.js';
import { tempDir } from '../helpers.js';
import { type Child, spawnFixture } from '../processes.js';

const dir = tempDir('stint-cli-remote-');
const root = fileURLToPath(new URL('../../', import.meta.url));
const db = join(dir, 'remote.db');

/** `stint <args>` from source; the environment says which server (or database) and token. */
const stint = (args: string[], env: Record<string, string>) =>
  runCli(args, { cwd: dir, env: { STINT_DATABASE_URL: '', STINT_SERVER: '', STINT_TOKEN: '', ...env } });

/** Relative times move between two runs; everything else must be the same. */
const steady = (text: string) => text.replace(/(\d+[smhd] ago|just now)/g, 'AGO');

describe('stint CLI on a server (--server, --token)', () => {
  let server: Child;
  let worker: Child;
  let remote: Record<string, string>;
  let viewer: Record<string, string>;
  const local = { STINT_DATABASE_URL: db };
  const tokens: Record<string, string> = {};
  /** The job `submit hello --wait` made. */
  let hello = '';

  beforeAll(async () => {
    const store = createSqliteStore({ path: db });
    try {
      for (const role of ['operator', 'viewer'] as const) {
        const { token, hash } = newApiToken();
        await store.insertApiToken({ name: role, role, hash, expiresAt: null, now: Date.now() });
        tokens[role] = token;
      }
    } finally {
      await store.close();
    }
    server = spawnFixture('cli.ts', ['--database', db, 'server', '--port', '0'], {}, { cwd: dir });
    worker = spawnFixture('cli.ts', ['--database', db, 'worker', '--tasks', join(root, 'examples/tasks.ts')]);
    const line = await server.waitFor(/listening on http/);
    await worker.waitFor(/stint worker/);
    const url = /listening on (http\S+)/.exec(line)?.[1] as string;
    remote = { STINT_SERVER: url, STINT_TOKEN: tokens.operator as string };
    viewer = { STINT_SERVER: url, STINT_TOKEN: tokens.viewer as string };
  }, 60_000);

  afterAll(async () => {
    worker.process.kill('SIGINT');
    server.process.kill('SIGINT');
    expect(await worker.exited).toBe(0);
    expect(await server.exited).toBe(0);
  });

  it('submits and waits, lists, shows and cancels jobs, with human and --json output', async () => {
    const [ok, declined, queued] = await Promise.all([
      stint(['submit', 'hello', '--input', '{"name":"Ada"}', '--wait', '--wait-timeout', '30s'], remote),
      stint(['submit', 'charge', '--input', '{"cents":5,"card":"0000"}', '--wait'], remote),
      stint(['submit', 'add', '--input', '{"a":1,"b":2}', '--delay', '1h', '--json'], remote),
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({ greeting: 'Hello, Ada!' });
    expect(declined.code).toBe(1);
    expect(declined.stderr).toMatch(/PermanentError: card ending 0000 was declined/);
    const { id, deduplicated } = JSON.parse(queued.stdout) as { id: string; deduplicated: boolean };
    expect(deduplicated).toBe(false);

    const listed = await stint(['jobs', 'ls', '--json'], remote);
    const jobs = (JSON.parse(listed.stdout) as { jobs: { id: string; task: string }[] }).jobs;
    expect(jobs.map((j) => j.task).sort()).toEqual(['add', 'charge', 'hello']);
    hello = jobs.find((j) => j.task === 'hello')?.id as string;
    const [table, shown, cancelled, missing] = await Promise.all([
      stint(['jobs', 'ls', '--state', 'failed'], remote),
      stint(['jobs', 'show', hello], remote),
      stint(['jobs', 'cancel', id], remote),
      stint(['jobs', 'show', '999'], remote),
    ]);
    expect(table.stdout).toMatch(/^ID\s+TASK\s+QUEUE\s+STATE/);
    expect(table.stdout).toMatch(/charge\s+default\s+failed/);
    expect(shown.stdout).toMatch(/state\s+succeeded/);
    expect(shown.stdout).toMatch(/saying hello to Ada/);
    expect(cancelled.stdout).toBe(`job ${id}: cancelled\n`);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('stint: job 999 does not exist (it may have been removed by retention)\n');

    const again = await stint(['jobs', 'cancel', id, '--json'], remote);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^stint: .*cancelled/);
    const logs = await stint(['logs', hello], remote);
    expect(logs.stdout).toMatch(/saying hello to Ada/);
  }, 120_000);

  it('creates, lists and runs schedules; marks datasets; lists workers and queues', async () => {
    const created = await stint(
      ['schedules', 'create', 'tick', '--every', '1h', '--task', 'add', '--input', '{"a":2,"b":3}'],
      remote,
    );
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^schedule tick created \(active\): every 1h/);
    const [ls, lsJson, run, marked, workers, workersJson, queues, queuesJson] = await Promise.all([
      stint(['schedules', 'ls'], remote),
      stint(['schedules', 'ls', '--json'], remote),
      stint(['schedules', 'run', 'tick', '--wait', '--wait-timeout', '30s'], remote),
      stint(['datasets', 'mark', 'raw_events', '2026-11-22', '--metadata', '{"rows":3}'], remote),
      stint(['workers', 'ls'], remote),
      stint(['workers', 'ls', '--json'], remote),
      stint(['queues', 'ls'], remote),
      stint(['queues', 'ls', '--json'], remote),
    ]);
    expect(ls.stdout).toMatch(/^NAME\s+TRIGGER\s+STATE/);
    expect(ls.stdout).toMatch(/tick\s+every 1h/);
    const schedules = JSON.parse(lsJson.stdout) as { schedules: { name: string; state: string }[] };
    expect(schedules.schedules).toEqual([expect.objectContaining({ name: 'tick', state: 'active' })]);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ sum: 5 });
    expect(marked.stdout).toBe('raw_events 2026-11-22: marked available\n');
    expect(workers.stdout).toMatch(/^WORKER\s+STATE\s+QUEUES/);
    expect(workers.stdout).toMatch(/active\s+default/);
    expect(JSON.parse(workersJson.stdout)).toEqual([expect.objectContaining({ state: 'active' })]);
    expect(queues.stdout).toMatch(/^QUEUE\s+PENDING/);
    expect(JSON.parse(queuesJson.stdout)).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'default' })]),
    );

    const twice = await stint(['datasets', 'mark', 'raw_events', '2026-11-22', '--json'], remote);
    expect(JSON.parse(twice.stdout)).toMatchObject({ created: false, partition: { metadata: { rows: 3 } } });
  }, 120_000);

  it('prints the same through the server as on the database', async () => {
    for (const args of [
      ['jobs', 'show', hello, '--json'],
      ['jobs', 'show', hello],
      ['datasets', 'partitions', 'raw_events', '--json'],
      ['jobs', 'ls', '--state', 'failed,succeeded'],
      ['schedules', 'show', 'tick'],
    ]) {
      const [there, here] = await Promise.all([stint(args, remote), stint(args, local)]);
      expect(there.code, there.stderr).toBe(0);
      expect(steady(there.stdout), args.join(' ')).toBe(steady(here.stdout));
    }
  }, 120_000);

  it('refuses a viewer token for submit, a bad token, and store commands, with clear messages', async () => {
    const [refused, read, wrong, none, tokensLs, both] = await Promise.all([
      stint(['submit', 'add', '--input', '{"a":1,"b":1}'], viewer),
      stint(['jobs', 'ls', '--json'], viewer),
      stint(['jobs', 'ls'], { ...remote, STINT_TOKEN: 'stint_not-a-real-token' }),
      stint(['jobs', 'ls'], { ...remote, STINT_TOKEN: '' }),
      stint(['tokens', 'ls'], remote),
      stint(['--server', remote.STINT_SERVER as string, '--database', db, 'jobs', 'ls'], {}),
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(
      "stint: your token's role viewer may not submit jobs: that needs the operator role (use a token made with stint tokens create --role operator)\n",
    );
    expect(read.code, read.stderr).toBe(0);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/^stint: the server refused the token: missing or invalid credentials/);
    expect(wrong.stderr).not.toContain('not-a-real-token');
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/the server needs a token: pass --token or set STINT_TOKEN/);
    expect(tokensLs.code).toBe(2);
    expect(tokensLs.stderr).toMatch(
      /stint tokens works on the store itself, not through a server: give --database/,
    );
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/give --server or --database, not both/);
  }, 120_000);

  it('notes an unregistered task and submits many jobs from a file through the server', async () => {
    const unknown = await stint(['submit', 'nobody-registered-this', '--json'], remote);
    expect(unknown.code, unknown.stderr).toBe(0);
    expect(unknown.stderr).toMatch(/no worker has registered task nobody-registered-this yet/);
    const known = await stint(['submit', 'add', '--input', '{"a":1,"b":1}', '--json'], remote);
    expect(known.stderr).not.toMatch(/no worker has registered/);

    const many = await runCli(['submit', 'add', '--input-file', '-', '--wait', '--json'], {
      cwd: dir,
      env: { STINT_DATABASE_URL: '', ...remote },
      stdin: '{"a":1,"b":2}\n{"a":3,"b":4}\n',
    });
    expect(many.code, many.stderr).toBe(0);
    const states = (JSON.parse(many.stdout) as { jobs: { state: string }[] }).jobs.map((j) => j.state);
    expect(states).toEqual(['succeeded', 'succeeded']);
  }, 120_000);
});
