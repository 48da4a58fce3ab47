import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli-run.js';
import { tempDir } from '../helpers.js';
import { spawnFixture } from '../processes.js';

const dir = tempDir();
const root = fileURLToPath(new URL('../../', import.meta.url));

/** Runs `stint <args>` from source in `dir`. */
const stint = (args: string[], env: Record<string, string> = {}) => runCli(args, { cwd: dir, env });

describe('stint CLI', () => {
  it('runs stint dev, and submits, waits, shows and lists against the same file from another process', async () => {
    // The default database: .stint/stint.db in the working directory.
    const dev = spawnFixture('cli.ts', ['dev'], {}, { cwd: dir });
    await dev.waitFor(/stint dev is running/);
    const env = { STINT_DATABASE_URL: join(dir, '.stint/stint.db') };

    const ok = await stint(['submit', 'hello', '--input', '{"name":"Ada"}', '--wait'], env);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({ greeting: 'Hello, Ada!' });

    const declined = await stint(['submit', 'charge', '--input', '{"cents":5,"card":"0000"}', '--wait'], env);
    expect(declined.code).toBe(1);
    expect(declined.stderr).toMatch(/PermanentError: card ending 0000 was declined/);

    const submitted = await stint(['submit', 'add', '--input', '{"a":1,"b":2}', '--json'], env);
    const { id } = JSON.parse(submitted.stdout) as { id: string };
    expect((await stint(['jobs', 'wait', id], env)).code).toBe(0);

    const shown = await stint(['jobs', 'show', id], env);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/state\s+succeeded/);
    expect(shown.stdout).toMatch(/"sum": 3/);
    expect(shown.stdout).toMatch(/started\s+attempt 1/);

    const listed = await stint(['jobs', 'ls', '--json'], env);
    expect((JSON.parse(listed.stdout) as { jobs: { task: string }[] }).jobs.map((j) => j.task)).toEqual([
      'add',
      'charge',
      'hello',
    ]);
    const table = await stint(['jobs', 'ls', '--state', 'failed'], env);
    expect(table.stdout).toMatch(/^ID\s+TASK\s+QUEUE\s+STATE/);
    expect(table.stdout).toMatch(/charge\s+default\s+failed/);

    dev.process.kill('SIGINT');
    expect(await dev.exited).toBe(0);
  });

  it('validates input against --tasks before storing, and says what is wrong', async () => {
    const db = join(dir, 'validate.db');
    const bad = await stint(
      [
        'submit',
        'hello',
        '--input',
        '{"name":""}',
        '--tasks',
        join(root, 'examples/tasks.ts'),
        '--database',
        db,
      ],
      {},
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/input\.name/);
    const listed = await stint(['jobs', 'ls', '--json', '--database', db]);
    expect(JSON.parse(listed.stdout)).toEqual({ jobs: [], nextCursor: null });
  });

  it('exits 2 on usage errors and 1 for a missing job, with a message', async () => {
    const db = join(dir, 'errors.db');
    const usage = await stint(['submit', 'hello', '--bogus', '--database', db]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/unknown option '--bogus'/);
    const json = await stint(['submit', 'hello', '--input', '{oops', '--database', db]);
    expect(json.code).toBe(2);
    expect(json.stderr).toMatch(/--input is not valid JSON/);
    const missing = await stint(['jobs', 'show', '424242', '--database', db]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/job 424242 does not exist/);
  });

  it('follows the logs of a running job until it finishes', async () => {
    const db = join(dir, 'logs.db');
    const dev = spawnFixture('cli.ts', ['dev', '--database', db]);
    await dev.waitFor(/stint dev is running/);
    const submitted = await stint([
      'submit',
      'sleep',
      '--input',
      '{"seconds":0.6,"steps":3}',
      '--json',
      '--database',
      db,
    ]);
    const { id } = JSON.parse(submitted.stdout) as { id: string };
    const logs = await stint(['logs', id, '--follow', '--database', db]);
    expect(logs.code).toBe(0);
    expect(logs.stdout.match(/step \d of 3 done/g)).toEqual([
      'step 1 of 3 done',
      'step 2 of 3 done',
      'step 3 of 3 done',
    ]);
    dev.process.kill('SIGTERM');
    expect(await dev.exited).toBe(0);
  });
});
