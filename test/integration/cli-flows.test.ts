import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, tempDir } from '../helpers.js';
import { type Child, spawnFixture, TSX_LOADER } from '../processes.js';

const dir = tempDir();
const root = fileURLToPath(new URL('../../', import.meta.url));
const cliFixture = join(root, 'test/fixtures/cli.ts');
const db = join(dir, 'flows.db');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `stint <args> --database db` from source; `stdin` is piped in when given. */
function stint(args: string[], stdin?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', TSX_LOADER, cliFixture, ...args, '--database', db], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}

/** Writes a spec file into the temp directory and returns its path. */
function specFile(name: string, spec: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(spec, null, 2));
  return path;
}

/** CreateVirtualMachine by hand, with the tasks of examples/vm-flow.ts and a map over the disks. */
const vmSpec = {
  name: 'CreateVirtualMachine',
  steps: [
    { name: 'net', task: 'createNetwork', input: { cidr: { $ref: 'store.cidr' } } },
    { name: 'ip', task: 'allocateIp', input: { networkId: { $ref: 'steps.net.output.id' } } },
    {
      name: 'disks',
      task: 'attachDisk',
      map: { over: { $ref: 'store.disks' } },
      input: { sizeGb: { $ref: 'item' } },
    },
    {
      name: 'boot',
      task: 'bootVm',
      input: {
        ip: { $ref: 'steps.ip.output.ip' },
        networkId: { $ref: 'steps.net.output.id' },
        diskId: { $ref: 'steps.disks.output.0.diskId' },
        image: { $ref: 'store.image' },
      },
    },
  ],
};

describe('stint flows', () => {
  let worker: Child;
  let failedId = '';

  beforeAll(async () => {
    worker = spawnFixture('cli.ts', [
      'worker',
      '--tasks',
      join(root, 'examples/vm-flow.ts'),
      '--database',
      db,
    ]);
    await worker.waitFor(/stint worker/);
  }, 60_000);

  afterAll(async () => {
    worker.process.kill('SIGINT');
    expect(await worker.exited).toBe(0);
  });

  it('submits a JSON spec and waits: outputs on success, exit 1 and the failed step on failure', async () => {
    const spec = specFile('vm.json', vmSpec);
    const storeFile = join(dir, 'store.json');
    writeFileSync(storeFile, JSON.stringify({ cidr: '10.0.0.0/24', image: 'debian-13', disks: [10, 20] }));

    const ok = await stint([
      'flows',
      'submit',
      spec,
      '--store-file',
      storeFile,
      '--wait',
      '--wait-timeout',
      '20s',
    ]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const outputs = JSON.parse(ok.stdout) as Record<string, unknown>;
    expect(outputs.boot).toEqual({ vmId: 'vm-10.0.0.7' });
    expect(outputs.disks).toEqual([{ diskId: 'disk-10' }, { diskId: 'disk-20' }]);

    // From stdin, with --store overriding a key of --store-file.
    const broken = await stint(
      ['flows', 'submit', '-', '--store-file', storeFile, '--store', '{"image":"broken"}', '--wait'],
      JSON.stringify(vmSpec),
    );
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/^flow (\d+) failed at step boot: Error: the image does not boot$/m);
    failedId = /^flow (\d+)/.exec(broken.stderr)?.[1] ?? '';
    expect(broken.stderr).toMatch(`see: stint flows show ${failedId}`);
  }, 120_000);

  it('shows the flow, its error and each step with its state, in dependency order', async () => {
    const [shown, items, json, missing] = await Promise.all([
      stint(['flows', 'show', failedId]),
      stint(['flows', 'show', failedId, '--items']),
      stint(['flows', 'show', failedId, '--json']),
      stint(['flows', 'show', '424242']),
    ]);
    expect(shown.code).toBe(0);
    const out = shown.stdout;
    expect(out).toMatch(/^state\s+failed$/m);
    expect(out).toMatch(/^failed step\s+boot$/m);
    expect(out).toMatch(/^error\s+Error: the image does not boot$/m);
    expect(out).toMatch(/^\s+STEP\s+STATE\s+TASK\s+WAITS FOR\s+JOB\s+ITEMS$/m);
    const net = out.search(/^ {2}net\s+reverted\s+createNetwork\s+-\s+\d+ revert \d+$/m);
    const disks = out.search(/^ {2}disks\s+reverted\s+attachDisk\s+-\s+-\s+2\/2$/m);
    const ip = out.search(/^ {4}ip\s+reverted\s+allocateIp\s+net\s+\d+ revert \d+$/m);
    const boot = out.search(/^ {6}boot\s+failed\s+bootVm\s+ip, net, disks\s+\d+$/m);
    expect(
      [net, disks, ip, boot].every((i) => i >= 0),
      out,
    ).toBe(true);
    expect(net < ip && ip < boot && disks < boot).toBe(true);
    // Map items are counted, not listed, unless asked for.
    expect(out).toMatch(/items: 2 reverted/);
    expect(out).not.toMatch(/disks\[0\]/);
    expect(out.slice(boot)).toMatch(/Error: the image does not boot/);

    expect(items.stdout).toMatch(/· disks\[0\]\s+reverted\s+attachDisk/);
    expect(items.stdout).toMatch(/· disks\[1\]\s+reverted\s+attachDisk/);

    const { flow, steps } = JSON.parse(json.stdout) as {
      flow: { state: string; failedStep: string };
      steps: { name: string; state: string }[];
    };
    expect(flow).toMatchObject({ state: 'failed', failedStep: 'boot' });
    expect(steps.map((s) => `${s.name} ${s.state}`).sort()).toEqual([
      'boot failed',
      'disks reverted',
      'disks[0] reverted',
      'disks[1] reverted',
      'ip reverted',
      'net reverted',
    ]);

    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/flow 424242 does not exist/);

    // The logs of all its jobs, in one place, each line with its step.
    const logs = await stint(['flows', 'logs', failedId]);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(/^boot\s.*#1 info\s+booting/m);
    expect(logs.stdout).toMatch(/^boot\s.*#2 info\s+booting/m);
  }, 120_000);

  it('lists flows newest first, filtered by state and name', async () => {
    const [listed, failed, paged, none, bad] = await Promise.all([
      stint(['flows', 'list']),
      stint(['flows', 'list', '--state', 'failed', '--json']),
      stint(['flows', 'list', '--name', 'CreateVirtualMachine', '--limit', '1']),
      stint(['flows', 'list', '--name', 'Nothing']),
      stint(['flows', 'list', '--state', 'done']),
    ]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^ID\s+NAME\s+STATE\s+STEPS\s+FAILED STEP\s+CREATED\s+DURATION$/m);
    expect(listed.stdout).toMatch(
      new RegExp(`^${failedId}\\s+CreateVirtualMachine\\s+failed\\s+.*\\s+boot\\s`, 'm'),
    );
    expect(listed.stdout).toMatch(/CreateVirtualMachine\s+succeeded\s+6 succeeded\s+-/);

    const page = JSON.parse(failed.stdout) as { flows: { id: string }[]; nextCursor: string | null };
    expect(page.flows.map((f) => f.id)).toEqual([failedId]);

    expect(paged.stdout).toMatch(/more: stint flows list --cursor \S+/);
    expect(none.stdout.trim()).toBe('no flows');

    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--state done is not a flow state/);
  }, 120_000);

  it('cancels a running flow: the completed step is reverted, the waiting one cancelled', async () => {
    // The second step's queue has no worker, so the flow stays running until cancelled.
    const spec = specFile('parked.json', {
      name: 'Parked',
      steps: [
        { name: 'net', task: 'createNetwork', input: { cidr: '10.9.0.0/24' } },
        {
          name: 'ip',
          task: 'allocateIp',
          queue: 'nobody',
          input: { networkId: { $ref: 'steps.net.output.id' } },
        },
      ],
    });
    const submitted = await stint(['flows', 'submit', spec, '--json']);
    expect(submitted.code).toBe(0);
    const { id } = JSON.parse(submitted.stdout) as { id: string };
    await eventually(
      async () => /^ {4}ip\s+pending/m.test((await stint(['flows', 'show', id])).stdout),
      15_000,
      'the second step to be pending',
    );

    const cancelled = await stint(['flows', 'cancel', id, '--reason', 'no longer needed']);
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toMatch(new RegExp(`^flow ${id}: (reverting|cancelled)`));

    const shown = await eventually(
      async () => {
        const run = await stint(['flows', 'show', id]);
        return /^state\s+cancelled$/m.test(run.stdout) && run.stdout;
      },
      15_000,
      'the flow to be cancelled',
    );
    expect(shown).toMatch(/^error\s+FlowCancelledError: no longer needed$/m);
    expect(shown).toMatch(/^ {2}net\s+reverted\s+createNetwork/m);
    expect(shown).toMatch(/^ {4}ip\s+cancelled\s+allocateIp\s+net/m);

    const again = await stint(['flows', 'cancel', id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/only a running flow can be cancelled/);
  }, 120_000);

  it('rejects a cycle or an unknown step with exit 2, naming each step and path, and stores nothing', async () => {
    const before = JSON.parse((await stint(['flows', 'list', '--json'])).stdout) as { flows: unknown[] };

    const cycle = await stint([
      'flows',
      'submit',
      specFile('cycle.json', {
        name: 'Loop',
        steps: [
          { name: 'a', task: 'createNetwork', input: { cidr: 'x' }, after: ['b'] },
          { name: 'b', task: 'allocateIp', input: { networkId: { $ref: 'steps.a.output.id' } } },
        ],
      }),
    ]);
    expect(cycle.code).toBe(2);
    expect(cycle.stderr).toMatch(/cycle\.json is invalid \(1 problem\)/);
    expect(cycle.stderr).toMatch(/^ {2}steps: the steps form a cycle: a -> b -> a$/m);

    const unknown = await stint(
      ['flows', 'submit', '-'],
      JSON.stringify({
        name: 'Dangling',
        steps: [
          { name: 'a', task: 'createNetwork', input: { cidr: 'x' } },
          {
            name: 'b',
            task: 'allocateIp',
            input: { networkId: { $ref: 'steps.nope.output.id' } },
            after: ['zzz'],
          },
        ],
      }),
    );
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/is invalid \(2 problems\)/);
    expect(unknown.stderr).toMatch(
      /^ {2}steps\.1\.input\.networkId: step b: .*"nope", which is not in the flow$/m,
    );
    expect(unknown.stderr).toMatch(/^ {2}steps\.1\.after\.0: step b: .*"zzz", which is not in the flow$/m);

    const [notJson, noTask] = await Promise.all([
      stint(['flows', 'submit', '-'], '{"name":'),
      stint(['flows', 'submit', '-'], JSON.stringify({ name: 'X', steps: [{ name: 'a', task: 'nosuch' }] })),
    ]);
    expect(noTask.code).toBe(2);
    expect(noTask.stderr).toMatch(/^ {2}steps\.0\.task: step a: unknown task "nosuch"/m);
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toMatch(/the spec on stdin is not valid JSON/);

    const after = JSON.parse((await stint(['flows', 'list', '--json'])).stdout) as { flows: unknown[] };
    expect(after.flows.length).toBe(before.flows.length);
  }, 120_000);
});
