import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleTasks } from '../../examples/tasks.js';
import { type Client, createClient } from '../../src/client/client.js';
import { type Coordinator, createCoordinator } from '../../src/coordinator/coordinator.js';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/types.js';
import { createWorker, type Worker } from '../../src/worker/worker.js';
import { eventually, tempDir } from '../helpers.js';
import { TSX_LOADER } from '../processes.js';

// The CLI runs as a child process on a SQLite file; this process runs the example tasks (a worker
// without coordinator duties) and fires schedules by calling `coordinator.tick()` when a test needs it.

const dir = tempDir();
const root = fileURLToPath(new URL('../../', import.meta.url));
const cliFixture = join(root, 'test/fixtures/cli.ts');
const db = join(dir, 'schedules.db');
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function stint(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', TSX_LOADER, cliFixture, ...args, '--database', db], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const json = <T>(run: Run): T => {
  expect(run.stderr, run.stderr).not.toMatch(/^stint:/m);
  return JSON.parse(run.stdout) as T;
};

// Each CLI spawn costs 0.5 s idle and several seconds on a loaded machine: spawns are grouped.
describe('stint schedules, datasets and backfill', { timeout: 120_000 }, () => {
  let store: Store;
  let coordinator: Coordinator;
  let worker: Worker;
  let client: Client;

  beforeAll(async () => {
    // The first command creates the schema; the worker and coordinator then open the same file.
    const created = await stint(
      'schedules',
      'create',
      'nightly',
      '--task',
      'hello',
      '--input',
      '{"name":"{{ date }}"}',
      '--cron',
      '0 2 * * *',
      '--timezone',
      'Europe/Berlin',
      '--overlap',
      'skip',
      '--description',
      'the nightly report',
    );
    expect(created.stderr).toMatch(/no worker has registered task hello yet/);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(
      /^schedule nightly created \(active\): cron 0 2 \* \* \* \(Europe\/Berlin\)$/m,
    );
    expect(created.stdout).toMatch(/^next fire in \d+[hms] \(\d{4}-\d\d-\d\d 02:00:00 Europe\/Berlin\)$/m);
    store = openStore(db);
    coordinator = createCoordinator(store, { logger: quiet });
    client = createClient({ store });
    worker = createWorker({ store: db, tasks: exampleTasks, coordinator: false, logger: quiet });
    await worker.start();
  }, 60_000);

  afterAll(async () => {
    await worker?.close();
    await coordinator?.stop();
    await client?.close();
    await store?.close();
  });

  it('creates an interval schedule; lists and shows schedules as tables and JSON', async () => {
    const every = await stint(
      'schedules',
      'create',
      'tick',
      '--task',
      'hello',
      '-i',
      '{"name":"{{ schedule }}"}',
      '--every',
      '1s',
      '--max-runs',
      '2',
      '--misfire',
      'catch_up',
      '--max-catch-up',
      '5',
      '--json',
    );
    const tick = json<{ name: string; trigger: unknown; policies: unknown; nextFireTimes: number[] }>(every);
    expect(tick.trigger).toEqual({ type: 'interval', everyMs: 1000, referenceMs: 0 });
    expect(tick.policies).toMatchObject({ misfire: 'catch_up', maxCatchUp: 5, maxRuns: 2 });
    expect(tick.nextFireTimes).toHaveLength(5);

    const [ls, lsJson, paused, show, showJson] = await Promise.all([
      stint('schedules', 'ls'),
      stint('schedules', 'ls', '--json'),
      stint('schedules', 'ls', '--state', 'paused'),
      stint('schedules', 'show', 'nightly'),
      stint('schedules', 'show', 'nightly', '--json'),
    ]);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(/^NAME\s+TRIGGER\s+STATE\s+NEXT FIRE\s+LAST FIRE\s+FIRES$/m);
    expect(ls.stdout).toMatch(
      /^nightly\s+cron 0 2 \* \* \* \(Europe\/Berlin\)\s+active\s+in \d+[hms] \(\S+ 02:00:00 Europe\/Berlin\)\s+-\s+0$/m,
    );
    expect(ls.stdout).toMatch(/^tick\s+every 1s from 1970-01-01T00:00:00.000Z\s+active\s+.*\s+0\/2$/m);
    const page = json<{ schedules: { name: string }[]; nextCursor: string | null }>(lsJson);
    expect(page.schedules.map((s) => s.name)).toEqual(['nightly', 'tick']);
    expect(paused.stdout.trim()).toMatch(/^no schedules/);

    expect(show.code).toBe(0);
    const out = show.stdout;
    expect(out).toMatch(/^schedule\s+nightly$/m);
    expect(out).toMatch(/^description\s+the nightly report$/m);
    expect(out).toMatch(/^policies\s+misfire fire_once, grace 1m; overlap skip; runs forever$/m);
    expect(out).toMatch(/^task\s+hello$/m);
    expect(out).toMatch(/^job\s+queue default, priority 0, 3 attempts, no timeout$/m);
    expect(out).toMatch(/"name": "\{\{ date \}\}"/);
    expect(out.match(/^ {2}\d{4}-\d\d-\d\d 02:00:00 Europe\/Berlin\s+in \d+[hmsd]$/gm)).toHaveLength(5);
    expect(out).toMatch(/recent runs\n {2}none yet/);
    expect(out).toMatch(/recent events\n {2}\S+Z {2}created$/m);
    const detail = json<{
      name: string;
      nextFireTimes: number[];
      runs: unknown[];
      events: { type: string }[];
    }>(showJson);
    expect(detail).toMatchObject({ name: 'nightly', runs: [], events: [{ type: 'created' }] });
    expect(detail.nextFireTimes).toHaveLength(5);
  });

  it('previews triggers with next; an invalid one exits 2 with a message naming the problem', async () => {
    const [cron, every, badField, badCount, zone, none, datasets] = await Promise.all([
      stint(
        'schedules',
        'next',
        '--cron',
        '0 2 * * *',
        '--timezone',
        'Europe/Berlin',
        '--count',
        '2',
        '--after',
        '2026-07-01T12:00:00Z',
      ),
      stint(
        'schedules',
        'next',
        '--every',
        '1d',
        '--reference',
        '2021-01-31T21:01:00Z',
        '--after',
        '2021-02-04T09:56:00Z',
        '--count',
        '2',
        '--json',
      ),
      stint('schedules', 'next', '--cron', '0 25 * * *'),
      stint('schedules', 'next', '--cron', '0 2 * *'),
      stint('schedules', 'next', '--cron', '0 2 * * *', '--timezone', 'Mars/Olympus'),
      stint('schedules', 'next', '--count', '3'),
      stint('schedules', 'next', '--datasets', 'a,b'),
    ]);
    expect(cron.code).toBe(0);
    expect(cron.stdout.trim().split('\n')).toEqual([
      'cron 0 2 * * * (Europe/Berlin)',
      expect.stringMatching(/^2026-07-02 02:00:00 Europe\/Berlin {2}2026-07-02T00:00:00.000Z {2}\S+/),
      expect.stringMatching(/^2026-07-03 02:00:00 Europe\/Berlin {2}2026-07-03T00:00:00.000Z {2}\S+/),
    ]);
    // The worked example of issue 5: the reference's time of day, whenever asked.
    expect(json<{ fireTimes: string[] }>(every).fireTimes).toEqual([
      '2021-02-04T21:01:00.000Z',
      '2021-02-05T21:01:00.000Z',
    ]);
    expect(badField.code).toBe(2);
    expect(badField.stderr).toMatch(/^stint: --cron: invalid cron expression "0 25 \* \* \*": .*hour/im);
    expect(badCount.code).toBe(2);
    expect(badCount.stderr).toMatch(/--cron: a cron expression has 5 fields .* got 4/);
    expect(zone.code).toBe(2);
    expect(zone.stderr).toMatch(/--timezone: unknown time zone "Mars\/Olympus" \(use an IANA name/);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/a trigger is required: give --cron EXPR, --every DUR or --once TIME/);
    expect(datasets.code).toBe(2);
    expect(datasets.stderr).toMatch(/unknown option '--datasets'/);
  });

  it('fires through the coordinator; pauses, resumes, runs now (--wait) and lists runs and events', async () => {
    // tick fires every second and completes after two fire times.
    await eventually(
      async () => {
        await coordinator.tick();
        return (await client.getSchedule('tick')).state === 'completed';
      },
      10_000,
      'tick to complete',
    );
    const [pause, ls, runs] = await Promise.all([
      stint('schedules', 'pause', 'nightly'),
      stint('schedules', 'ls', '--state', 'completed'),
      stint('schedules', 'runs', 'tick', '--json'),
    ]);
    expect(pause.stdout.trim()).toBe('schedule nightly: paused');
    expect(ls.stdout).toMatch(/^tick\s+every 1s .*\s+completed\s+-\s+\S+ ago\s+2\/2$/m);
    const fired = json<{ runs: { kind: string; jobId: string }[] }>(runs).runs;
    expect(fired.map((r) => r.kind)).toEqual(['fire', 'fire']);

    const [again, resumed, runNow] = await Promise.all([
      stint('schedules', 'pause', 'nightly'),
      stint('schedules', 'resume', 'tick'),
      stint('schedules', 'run', 'nightly', '--wait', '--wait-timeout', '20s'),
    ]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(
      /schedule nightly is paused, not active \(resume it: stint schedules resume nightly\)/,
    );
    expect(resumed.code).toBe(1);
    expect(resumed.stderr).toMatch(/schedule tick is completed, not paused/);
    expect(runNow.stderr).toBe('');
    expect(runNow.code).toBe(0);
    expect(JSON.parse(runNow.stdout)).toEqual({
      greeting: expect.stringMatching(/^Hello, \d{4}-\d\d-\d\d!$/),
    });

    const resume = await stint('schedules', 'resume', 'nightly');
    const [runsTable, events, eventsJson] = await Promise.all([
      stint('schedules', 'runs', 'nightly'),
      stint('schedules', 'events', 'nightly'),
      stint('schedules', 'events', 'nightly', '--json'),
    ]);
    expect(resume.stdout).toMatch(/^schedule nightly: active; next fire in \d+[hms] /);
    expect(runsTable.stdout).toMatch(/^KIND\s+FIRE TIME\s+PARTITION\s+RUN\s+STATE\s+CREATED\s+DURATION$/m);
    expect(runsTable.stdout).toMatch(/^now\s+\S+ \S+ Europe\/Berlin\s+-\s+job \d+\s+succeeded\s/m);
    expect(events.stdout).toMatch(/paused\n.*run_now\s+\{"key":"n:/);
    expect(json<{ type: string }[]>(eventsJson).map((e) => e.type)).toEqual([
      'created',
      'paused',
      'run_now',
      'resumed',
    ]);
  });

  it('marks datasets; a schedule waiting on two fires once per partition; partitions list their runs', async () => {
    const created = await stint(
      'schedules',
      'create',
      'report',
      '--task',
      'hello',
      '--input',
      '{"name":"{{ partition }}"}',
      '--datasets',
      'raw_events,users',
    );
    expect(created.stdout).toMatch(
      /^schedule report created \(active\): when raw_events and users have a partition$/m,
    );
    const [first, second] = [
      await stint('datasets', 'mark', 'raw_events', '2026-11-22', '--metadata', '{"rows":10}'),
      await stint('datasets', 'mark', 'raw_events', '2026-11-22'),
    ];
    expect(first.stdout.trim()).toBe('raw_events 2026-11-22: marked available');
    expect(second.stdout).toMatch(/^raw_events 2026-11-22: already marked .* \(nothing fires twice\)$/m);
    await coordinator.tick();
    const waiting = await stint('datasets', 'partitions', 'raw_events');
    expect(waiting.stdout).toMatch(/^2026-11-22\s+\S+ ago\s+none\s+\{"rows":10\}$/m);

    const marked = await stint('datasets', 'mark', 'users', '2026-11-22', '--json');
    expect(json<{ created: boolean }>(marked).created).toBe(true);
    await eventually(
      async () => {
        await coordinator.tick();
        return (await client.scheduleRuns('report')).runs.length > 0;
      },
      10_000,
      'report to fire',
    );
    const [ls, lsJson, partitions, partitionsJson, badName, badMeta] = await Promise.all([
      stint('datasets', 'ls'),
      stint('datasets', 'ls', '--json'),
      stint('datasets', 'partitions', 'users'),
      stint('datasets', 'partitions', 'users', '--json'),
      stint('datasets', 'mark', 'raw events', 'p'),
      stint('datasets', 'mark', 'users', 'p', '--metadata', '[1]'),
    ]);
    expect(ls.stdout).toMatch(/^DATASET\s+PARTITIONS\s+LAST MARKED$/m);
    expect(ls.stdout).toMatch(/^raw_events\s+1\s+\S+ ago$/m);
    expect(json<{ name: string }[]>(lsJson).map((d) => d.name)).toEqual(['raw_events', 'users']);
    expect(partitions.stdout).toMatch(/^2026-11-22\s+\S+ ago\s+report job \d+ (pending|running|succeeded)/m);
    const page = json<{
      partitions: { partition: string; runs: { scheduleName: string; partition: string }[] }[];
    }>(partitionsJson);
    expect(page.partitions[0]?.runs).toMatchObject([{ scheduleName: 'report', partition: '2026-11-22' }]);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toMatch(/dataset: must be 1-200 characters/);
    expect(badMeta.code).toBe(2);
    expect(badMeta.stderr).toMatch(/--metadata must be a JSON object/);
  });

  it('starts, shows, lists and cancels backfills; --wait follows one to the end', async () => {
    const range = ['--from', '2026-10-01T00:00:00Z', '--to', '2026-10-04T12:00:00Z'];
    const started = await stint('backfill', 'nightly', ...range, '--concurrency', '2');
    expect(started.code).toBe(0);
    const id = started.stdout.trim();
    expect(id).toMatch(/^\d+$/);
    const [show, showJson, ls] = await Promise.all([
      stint('backfill', 'show', id),
      stint('backfills', 'show', id, '--json'),
      stint('backfill', 'ls', 'nightly'),
    ]);
    expect(show.stdout).toMatch(/^state\s+running$/m);
    expect(show.stdout).toMatch(/^range\s+2026-10-01T00:00:00.000Z \.\. 2026-10-04T12:00:00.000Z$/m);
    expect(show.stdout).toMatch(/^concurrency\s+at most 2 at once$/m);
    expect(json<{ total: number; state: string }>(showJson)).toMatchObject({ total: 4, state: 'running' });
    expect(ls.stdout).toMatch(
      new RegExp(`^${id}\\s+nightly\\s+running\\s+2026-10-01T00:00:00.000Z \\.\\. \\S+\\s+0/4 done`, 'm'),
    );

    const [cancel, cancelAgain] = [
      await stint('backfill', 'cancel', id),
      await stint('backfill', 'cancel', id),
    ];
    expect(cancel.stdout).toMatch(new RegExp(`^backfill ${id}: cancelled`));
    expect(cancelAgain.code).toBe(1);
    expect(cancelAgain.stderr).toMatch(/is cancelled, not running: only a running backfill can be cancelled/);

    // Followed to the end while this process moves it on.
    let following = true;
    const ticking = (async () => {
      while (following) {
        await coordinator.tick();
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    let waited: Run;
    try {
      waited = await stint('backfill', 'nightly', ...range, '--concurrency', '2', '--wait');
    } finally {
      following = false;
      await ticking;
    }
    expect(waited.stderr).toBe('');
    expect(waited.code).toBe(0);
    const lines = waited.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^backfill \d+: 4 runs of nightly, 2 at a time$/);
    expect(lines).toContain('0/4 done (0 running)');
    expect(lines.at(-1)).toMatch(/^backfill \d+ finished: 4 runs, 0 already ran before$/);
    expect(waited.stdout).not.toMatch(/\[#/); // no bar when not on a terminal

    const [noRange, badTo, unknown, nothing] = await Promise.all([
      stint('backfill', 'nightly', '--from', '2026-10-01T00:00:00Z'),
      stint('backfill', 'nightly', '--from', '2026-10-04T00:00:00Z', '--to', '2026-10-01T00:00:00Z'),
      stint('backfill', 'nope', ...range),
      stint('backfill', 'show', '999'),
    ]);
    expect(noRange.code).toBe(2);
    expect(noRange.stderr).toMatch(/--from and --to are required, e.g. --from /);
    expect(badTo.code).toBe(2);
    expect(badTo.stderr).toMatch(/--to: must not be before from/);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/schedule nope does not exist \(list them with `stint schedules ls`\)/);
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toMatch(/backfill 999 does not exist/);
  });

  it('updates only what is given, deletes, and rejects bad flags with exit 2 and what to do', async () => {
    const updated = await stint(
      'schedules',
      'update',
      'nightly',
      '--priority',
      '5',
      '--max-runs',
      '10',
      '--json',
    );
    const after = json<{
      target: { job: { input: unknown; priority: number; task: string } };
      policies: { maxRuns: number; overlap: string };
    }>(updated);
    expect(after.target.job).toMatchObject({ task: 'hello', input: { name: '{{ date }}' }, priority: 5 });
    expect(after.policies).toMatchObject({ maxRuns: 10, overlap: 'skip' });

    const [both, orphan, misfire, badJson, noTrigger, noTask, unknownFlag, placeholder, exists] =
      await Promise.all([
        stint('schedules', 'create', 'x', '--task', 'hello', '--cron', '* * * * *', '--every', '1m'),
        stint('schedules', 'create', 'x', '--task', 'hello', '--every', '1m', '--timezone', 'UTC'),
        stint('schedules', 'create', 'x', '--task', 'hello', '--every', '1m', '--misfire', 'later'),
        stint('schedules', 'create', 'x', '--task', 'hello', '--every', '1m', '--input', '{name:'),
        stint('schedules', 'create', 'x', '--task', 'hello'),
        stint('schedules', 'create', 'x', '--every', '1m'),
        stint('schedules', 'create', 'x', '--task', 'hello', '--every', '1m', '--bogus'),
        stint(
          'schedules',
          'create',
          'x',
          '--task',
          'hello',
          '--every',
          '1m',
          '--input',
          '{"name":"{{ partition }}"}',
        ),
        stint('schedules', 'create', 'nightly', '--task', 'hello', '--every', '1m'),
      ]);
    for (const run of [both, orphan, misfire, badJson, noTrigger, noTask, unknownFlag, placeholder])
      expect(run.code, run.stderr).toBe(2);
    expect(both.stderr).toMatch(/--cron and --every cannot be combined: a schedule has one trigger/);
    expect(orphan.stderr).toMatch(/--timezone only applies with --cron/);
    expect(misfire.stderr).toMatch(/--misfire must be one of skip, fire_once, catch_up \(got "later"\)/);
    expect(badJson.stderr).toMatch(/--input is not valid JSON .* quote it for the shell/);
    expect(noTrigger.stderr).toMatch(/a trigger is required: give --cron EXPR, --every DUR, --once TIME/);
    expect(noTask.stderr).toMatch(/--task or --flow is required/);
    expect(unknownFlag.stderr).toMatch(/unknown option '--bogus'\n\(run stint --help for usage\)/);
    expect(placeholder.stderr).toMatch(/--input: \{\{ partition \}\} is only filled in for dataset triggers/);
    expect(exists.code).toBe(1);
    expect(exists.stderr).toMatch(/schedule nightly already exists/);

    const [rm, listed] = [await stint('schedules', 'rm', 'tick'), await stint('schedules', 'ls', '--json')];
    expect(rm.stdout.trim()).toBe('schedule tick deleted');
    expect(json<{ schedules: { name: string }[] }>(listed).schedules.map((s) => s.name)).toEqual([
      'nightly',
      'report',
    ]);
    const again = await stint('schedules', 'rm', 'tick');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/schedule tick does not exist \(list them with `stint schedules ls`\)/);
  });
});
