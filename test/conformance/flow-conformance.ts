import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { cloud, createVirtualMachine, vmTasks } from '../../examples/vm-flow.js';
import {
  type Client,
  createClient,
  createFlow,
  createWorker,
  defineTask,
  FlowFailedError,
  PermanentError,
  type Store,
  type Task,
  ValidationError,
  type Worker,
} from '../../src/index.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * Flows end to end (client, worker, store) on one store kind. Each backend's test file calls this
 * with a factory that makes a fresh, empty store.
 */
export function describeFlowConformance(name: string, makeStore: () => Promise<Store>): void {
  describe(`flows: ${name}`, () => {
    let store: Store;
    let client: Client;
    let workers: Worker[] = [];

    beforeEach(async () => {
      store = await makeStore();
      client = createClient({ store });
      cloud.length = 0;
    });
    afterEach(async () => {
      for (const w of workers) await w.close();
      workers = [];
      await client.close();
      await store.close();
    });

    const start = async (tasks: Task[], concurrency = 8) => {
      const worker = createWorker({
        store,
        tasks,
        concurrency,
        logger: quiet,
        pollInterval: 50,
        coordinator: false,
      });
      workers.push(worker);
      await worker.start();
      return worker;
    };

    describe('CreateVirtualMachine', () => {
      it('runs every step with the data each needs, and returns their outputs', async () => {
        await start(vmTasks);
        const flow = await client.submitFlow(createVirtualMachine(), {
          store: { cidr: '10.0.0.0/24', image: 'debian', diskGb: 20 },
        });
        const out = await flow.result({ timeout: '20s' });
        expect(out).toEqual({
          createNetwork: { id: 'net-10.0.0.0/24' },
          allocateIp: { ip: '10.0.0.7' },
          attachDisk: { diskId: 'disk-20' },
          bootVm: { vmId: 'vm-10.0.0.7' },
        });
        expect(cloud.indexOf('create network 10.0.0.0/24')).toBeLessThan(
          cloud.indexOf('allocate ip in net-10.0.0.0/24'),
        );
        const { flow: record, steps } = await flow.status();
        expect(record.state).toBe('succeeded');
        expect(steps.map((s) => [s.name, s.state])).toEqual([
          ['createNetwork', 'succeeded'],
          ['allocateIp', 'succeeded'],
          ['attachDisk', 'succeeded'],
          ['bootVm', 'succeeded'],
        ]);
        expect(steps.find((s) => s.name === 'bootVm')?.deps.sort()).toEqual([
          'allocateIp',
          'attachDisk',
          'createNetwork',
        ]);
        // Each step is a job that names its flow and step; their logs read in one place.
        const logs = await client.flowLogs(flow.id);
        expect(logs.map((l) => `${l.step}: ${l.message}`)).toContain('bootVm: booting');
        const jobs = await client.list({ flow: flow.id });
        expect(jobs.jobs).toHaveLength(4);
        for (const job of jobs.jobs) expect(job.flow).toMatchObject({ id: flow.id, role: 'run' });
        const boot = await client.get(steps.find((s) => s.name === 'bootVm')?.jobId as string);
        expect(boot.input).toEqual({
          ip: '10.0.0.7',
          networkId: 'net-10.0.0.0/24',
          diskId: 'disk-20',
          image: 'debian',
        });
      });

      it('reverts completed steps in reverse completion order when bootVm fails after its retries', async () => {
        await start(vmTasks);
        const flow = await client.submitFlow(createVirtualMachine(), {
          store: { cidr: '10.0.1.0/24', image: 'broken', diskGb: 5 },
        });
        const err = await flow.result({ timeout: '20s' }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(FlowFailedError);
        expect(err).toMatchObject({
          state: 'failed',
          step: 'bootVm',
          error: { message: 'the image does not boot' },
        });
        expect(cloud.filter((l) => l.startsWith('boot'))).toHaveLength(2); // retried once, as its task says
        const { steps } = await flow.status();
        const completed = steps
          .filter((s) => s.completedSeq !== null)
          .sort((a, b) => (b.completedSeq ?? 0) - (a.completedSeq ?? 0))
          .map((s) => s.name);
        const reverts = cloud.filter((l) => /^(release|detach|delete)/.test(l));
        const expected = completed.map(
          (name) =>
            ({
              allocateIp: 'release ip 10.0.0.7',
              attachDisk: 'detach disk disk-5',
              createNetwork: 'delete network net-10.0.1.0/24',
            })[name],
        );
        expect(reverts).toEqual(expected);
        expect(reverts.indexOf('release ip 10.0.0.7')).toBeLessThan(
          reverts.indexOf('delete network net-10.0.1.0/24'),
        );
        expect(Object.fromEntries(steps.map((s) => [s.name, s.state]))).toEqual({
          createNetwork: 'reverted',
          allocateIp: 'reverted',
          attachDisk: 'reverted',
          bootVm: 'failed',
        });
        // Every revert is a job of the flow too.
        const jobs = await client.list({ flow: flow.id });
        expect(jobs.jobs.filter((j) => j.flow?.role === 'revert')).toHaveLength(3);
      });

      it('ends revert_failed when a revert keeps failing, and still reverts the others', async () => {
        const stubborn = defineTask({
          name: 'stubborn',
          input: z.object({}),
          retry: { maxAttempts: 2, backoff: 5 },
          run: () => ({ ok: true }),
          revert: () => {
            throw new Error('cannot undo');
          },
        });
        const fail = defineTask({
          name: 'fail',
          input: z.object({}),
          run: () => {
            throw new PermanentError('boom');
          },
        });
        const undo: string[] = [];
        const first = defineTask({
          name: 'first',
          input: z.object({}),
          run: () => 1,
          revert: () => {
            undo.push('first');
          },
        });
        await start([stubborn, fail, first]);
        const f = createFlow('revert-fails');
        const a = f.step(first, {});
        const b = f.step(stubborn, {}, { after: [a] });
        f.step(fail, {}, { after: [b] });
        const flow = await client.submitFlow(f);
        await expect(flow.result({ timeout: '20s' })).rejects.toMatchObject({
          state: 'revert_failed',
          step: 'fail',
        });
        const { steps } = await flow.status();
        const s = steps.find((x) => x.name === 'stubborn');
        expect(s?.state).toBe('revert_failed');
        expect(s?.revertError?.message).toBe('cannot undo');
        expect(steps.find((x) => x.name === 'first')?.state).toBe('reverted');
        expect(undo).toEqual(['first']);
        const revertJob = await client.get(s?.revertJobId as string);
        expect(revertJob).toMatchObject({ state: 'failed', attempt: 2 });
      });
    });

    it('reverts the items of a map, and the map step ends reverted', async () => {
      const undone: number[] = [];
      const item = defineTask({
        name: 'item',
        input: z.object({ n: z.number() }),
        run: (_c, { n }) => n,
        revert: (_c, { n }) => {
          undone.push(n);
        },
      });
      const fail = defineTask({
        name: 'failAfter',
        input: z.object({}).passthrough(),
        run: () => {
          throw new PermanentError('late failure');
        },
      });
      await start([item, fail]);
      const f = createFlow('map-revert');
      const m = f.map(item, [1, 2, 3], (n) => ({ n }), { name: 'items', concurrency: 1 });
      f.step(fail, { all: m.output });
      const flow = await client.submitFlow(f);
      await expect(flow.result({ timeout: '20s' })).rejects.toMatchObject({
        state: 'failed',
        step: 'failAfter',
      });
      expect(undone).toEqual([3, 2, 1]);
      const { steps } = await flow.status();
      expect(steps.find((s) => s.name === 'items')?.state).toBe('reverted');
      expect(steps.filter((s) => s.parent === 'items').map((s) => s.state)).toEqual([
        'reverted',
        'reverted',
        'reverted',
      ]);
    });

    describe('data between steps', () => {
      const make = defineTask({
        name: 'make',
        input: z.object({ seed: z.number() }),
        run: (_ctx, { seed }) => ({ user: { id: seed, tags: ['a', 'b'] }, list: [seed, seed + 1] }),
      });
      const use = defineTask({
        name: 'use',
        input: z.object({ id: z.number(), tag: z.string(), region: z.string() }),
        run: (_ctx, input) => input,
      });

      it('passes nested fields, list elements and store values', async () => {
        await start([make, use]);
        const f = createFlow<{ seed: number; region: string }>('data');
        const m = f.step(make, { seed: f.store.seed });
        f.step(use, { id: m.output.user.id, tag: m.output.user.tags[1] as never, region: f.store.region });
        const flow = await client.submitFlow(f, { store: { seed: 7, region: 'eu-1' } });
        expect((await flow.result({ timeout: '20s' })).use).toEqual({ id: 7, tag: 'b', region: 'eu-1' });
      });

      it('fails the step with an error naming the step and path when a referenced field is missing', async () => {
        await start([make, use]);
        const flow = await client.submitFlow({
          name: 'missing',
          steps: [
            { name: 'm', task: 'make', input: { seed: 1 } },
            {
              name: 'u',
              task: 'use',
              input: { id: { $ref: 'steps.m.output.user.nope' }, tag: 'x', region: 'r' },
            },
          ],
        });
        const err = (await flow.result({ timeout: '20s' }).catch((e: unknown) => e)) as FlowFailedError;
        expect(err).toBeInstanceOf(FlowFailedError);
        expect(err.step).toBe('u');
        expect(err.error.code).toBe('FLOW_REFERENCE');
        expect(err.error.message).toContain('step u: input.id refers to steps.m.output.user.nope');
        expect(err.error.message).toContain('no field "nope"');
      });

      it('fails a step whose resolved input does not fit its task, naming the step and field', async () => {
        await start([make, use]);
        const flow = await client.submitFlow({
          name: 'bad-type',
          steps: [
            { name: 'm', task: 'make', input: { seed: 1 } },
            {
              name: 'u',
              task: 'use',
              input: { id: { $ref: 'steps.m.output.user.tags' }, tag: 'x', region: 'r' },
            },
          ],
        });
        const err = (await flow.result({ timeout: '20s' }).catch((e: unknown) => e)) as FlowFailedError;
        expect(err.step).toBe('u');
        expect(err.error.code).toBe('VALIDATION');
        expect(err.error.message).toContain('step u of flow');
        expect(err.error.message).toContain('input.id');
      });
    });

    describe('validation at submit', () => {
      const noop = defineTask({
        name: 'noop',
        input: z.object({ x: z.number().optional() }),
        run: () => ({ done: true }),
      });
      const typed = defineTask({
        name: 'typed',
        input: z.object({ x: z.number() }),
        output: z.object({ value: z.number() }),
        run: (_c, { x }) => ({ value: x }),
      });

      const rejects = async (spec: unknown, message: string, path?: string) => {
        const err = (await client
          .submitFlow(spec as never, { store: { k: 1 } })
          .catch((e: unknown) => e)) as ValidationError;
        expect(err).toBeInstanceOf(ValidationError);
        expect(err.message).toContain(message);
        if (path) expect(err.issues.map((i) => i.path)).toContain(path);
      };

      it('rejects cycles, bad references and unknown tasks, and stores nothing', async () => {
        await client.close();
        client = createClient({ store, tasks: [noop, typed] });
        await rejects(
          {
            name: 'cycle',
            steps: [
              { name: 'a', task: 'noop', after: ['c'] },
              { name: 'b', task: 'noop', after: ['a'] },
              { name: 'c', task: 'noop', input: { x: { $ref: 'steps.b.output.n' } } },
            ],
          },
          'cycle: a -> c -> b -> a',
        );
        await rejects(
          {
            name: 'missing-step',
            steps: [{ name: 'a', task: 'noop', input: { x: { $ref: 'steps.zz.output' } } }],
          },
          'step a: input.x refers to step "zz", which is not in the flow',
          'steps.0.input.x',
        );
        await rejects(
          { name: 'after', steps: [{ name: 'a', task: 'noop', after: ['ghost'] }] },
          'after names step "ghost"',
          'steps.0.after.0',
        );
        await rejects(
          { name: 'store', steps: [{ name: 'a', task: 'noop', input: { x: { $ref: 'store.nope' } } }] },
          'store.nope, which was not given at submit',
        );
        await rejects(
          { name: 'task', steps: [{ name: 'a', task: 'nobody' }] },
          'unknown task "nobody"',
          'steps.0.task',
        );
        await rejects(
          { name: 'input', steps: [{ name: 'a', task: 'noop', input: { x: 'text' } }] },
          'step a: invalid input for task noop',
          'steps.0.input.x',
        );
        await rejects(
          {
            name: 'output-field',
            steps: [
              { name: 't', task: 'typed', input: { x: 1 } },
              { name: 'a', task: 'noop', input: { x: { $ref: 'steps.t.output.valeu' } } },
            ],
          },
          'the output of task typed has no field "valeu"',
        );
        await rejects(
          {
            name: 'dup',
            steps: [
              { name: 'a', task: 'noop' },
              { name: 'a', task: 'noop' },
            ],
          },
          'used twice',
        );
        await rejects({ name: 'shape', steps: [{ name: 'a b', task: 'noop' }] }, 'steps.0.name');
        expect((await client.listFlows()).flows).toHaveLength(0);
        expect((await client.list()).jobs).toHaveLength(0);
      });
    });

    describe('dynamic steps and fan-out', () => {
      it('lets a running step add steps that depend on existing ones', async () => {
        const leaf = defineTask({
          name: 'leaf',
          input: z.object({ base: z.number(), add: z.number() }),
          run: (_c, { base, add }) => base + add,
        });
        const planner = defineTask({
          name: 'planner',
          input: z.object({}),
          run: (ctx) => {
            const flow = ctx.flow;
            if (!flow) throw new Error('not in a flow');
            const one = flow.add(leaf, { base: 10, add: 1 }, { name: 'one' });
            // Refers to this step's own output (it exists once this step completes).
            flow.add(
              leaf,
              { base: one.output, add: { $ref: `steps.${flow.step}.output.n` } as never },
              { name: 'two' },
            );
            return { n: 5 };
          },
        });
        await start([leaf, planner]);
        const f = createFlow('dynamic');
        f.step(planner, {});
        const flow = await client.submitFlow(f);
        expect(await flow.result({ timeout: '20s' })).toEqual({ planner: { n: 5 }, one: 11, two: 16 });
      });

      it('finishes a flow whose map has no items, and lets a running step add a map over item references', async () => {
        const double = defineTask({
          name: 'double',
          input: z.object({ n: z.number() }),
          run: (_c, { n }) => n * 2,
        });
        const fanner = defineTask({
          name: 'fanner',
          input: z.object({}),
          run: (ctx) => {
            ctx.flow?.map(double, [1, 2, 3], (n) => ({ n }), { name: 'doubled', concurrency: 2 });
            return 'planned';
          },
        });
        await start([double, fanner]);
        const empty = createFlow<{ list: number[] }>('empty-map');
        empty.map(double, empty.store.list, (n) => ({ n }));
        const flow = await client.submitFlow(empty, { store: { list: [] } });
        expect(await flow.result({ timeout: '20s' })).toEqual({ double: [] });

        const f = createFlow('added-map');
        f.step(fanner, {});
        const added = await client.submitFlow(f);
        expect(await added.result({ timeout: '20s' })).toEqual({ fanner: 'planned', doubled: [2, 4, 6] });
      });

      it('stops the flow (and reverts the adding step) when added steps do not fit it', async () => {
        const undone: string[] = [];
        const item = defineTask({
          name: 'itemTask',
          input: z.object({ n: z.number() }),
          run: (_c, { n }) => n,
        });
        const adder = defineTask({
          name: 'adder',
          input: z.object({}),
          run: (ctx) => {
            // A map item is not a step one can wait on.
            ctx.flow?.add(item, { n: 1 }, { name: 'late', after: ['m[0]'] });
            return 1;
          },
          revert: () => {
            undone.push('adder');
          },
        });
        await start([item, adder]);
        const f = createFlow('bad-add');
        const m = f.map(item, [1, 2], (n) => ({ n }), { name: 'm' });
        f.step(adder, {}, { after: [m] });
        const flow = await client.submitFlow(f);
        const err = (await flow.result({ timeout: '20s' }).catch((e: unknown) => e)) as FlowFailedError;
        expect(err).toMatchObject({ state: 'failed', step: 'adder' });
        expect(err.error.message).toContain('steps added by adder');
        expect(err.error.message).toContain('after names step "m[0]", which is not in the flow');
        expect(undone).toEqual(['adder']);
      });

      it('a flow whose only step fails resolving its input ends at submit', async () => {
        const double = defineTask({
          name: 'double2',
          input: z.object({ n: z.number() }),
          run: (_c, { n }) => n,
        });
        await start([double]);
        const f = createFlow<{ list: unknown }>('not-a-list', { onFailure: 'continue' });
        f.map(double, f.store.list as never, (n) => ({ n }));
        const flow = await client.submitFlow(f, { store: { list: 'nope' } });
        await expect(flow.result({ timeout: '20s' })).rejects.toMatchObject({
          state: 'failed',
          error: { code: 'FLOW_REFERENCE' },
        });
      });

      it('maps 1,000 items with at most 20 running, and hands the outputs in order to the next step', async () => {
        let running = 0;
        let peak = 0;
        const square = defineTask({
          name: 'square',
          input: z.object({ n: z.number() }),
          run: async (_c, { n }) => {
            running++;
            peak = Math.max(peak, running);
            await new Promise((r) => setTimeout(r, n % 7 === 0 ? 2 : 0));
            running--;
            return n * n;
          },
        });
        const sum = defineTask({
          name: 'sum',
          input: z.object({ values: z.array(z.number()) }),
          run: (_c, { values }) => ({
            count: values.length,
            first: values.slice(0, 3),
            total: values.reduce((a, b) => a + b, 0),
          }),
        });
        await start([square, sum], 64);
        const f = createFlow<{ ns: number[] }>('fan');
        const squares = f.map(square, f.store.ns, (n) => ({ n }), { concurrency: 20 });
        f.step(sum, { values: squares.output });
        const ns = Array.from({ length: 1000 }, (_, i) => i);
        const flow = await client.submitFlow(f, { store: { ns } });
        const out = await flow.result({ timeout: '60s' });
        expect(out.sum).toEqual({ count: 1000, first: [0, 1, 4], total: ns.reduce((a, n) => a + n * n, 0) });
        expect(peak).toBeLessThanOrEqual(20);
        expect(peak).toBeGreaterThan(1);
        const { steps } = await flow.status();
        expect(steps.find((s) => s.name === 'square')?.items).toEqual({ total: 1000, done: 1000 });
      });
    });

    describe('failure policies and cancel', () => {
      it('continue: skips what needs the failed step, runs everything else, ends failed', async () => {
        const ok = defineTask({ name: 'ok', input: z.object({}).passthrough(), run: () => 'ok' });
        const bad = defineTask({
          name: 'bad',
          input: z.object({}),
          run: () => {
            throw new PermanentError('nope');
          },
        });
        await start([ok, bad]);
        const f = createFlow('continue', { onFailure: 'continue' });
        const b = f.step(bad, {});
        const after = f.step(ok, { v: b.output }, { name: 'needsBad' });
        f.step(ok, {}, { name: 'afterThat', after: [after] });
        f.step(ok, {}, { name: 'independent' });
        const flow = await client.submitFlow(f);
        await expect(flow.result({ timeout: '20s' })).rejects.toMatchObject({ state: 'failed', step: 'bad' });
        const { steps } = await flow.status();
        expect(Object.fromEntries(steps.map((s) => [s.name, s.state]))).toEqual({
          bad: 'failed',
          needsBad: 'skipped',
          afterThat: 'skipped',
          independent: 'succeeded',
        });
      });

      it('cancel: cancels the running step and reverts the completed ones', async () => {
        const undone: string[] = [];
        const quick = defineTask({
          name: 'quick',
          input: z.object({}),
          run: () => 'done',
          revert: () => {
            undone.push('quick');
          },
        });
        const slow = defineTask({
          name: 'slow',
          input: z.object({}),
          run: (ctx) =>
            new Promise((_, reject) => {
              ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
            }),
        });
        await start([quick, slow]);
        const f = createFlow('cancel');
        const q = f.step(quick, {});
        f.step(slow, {}, { after: [q] });
        const flow = await client.submitFlow(f);
        for (let i = 0; i < 200; i++) {
          const { steps } = await flow.status();
          if (steps.find((s) => s.name === 'slow')?.state === 'running') break;
          await new Promise((r) => setTimeout(r, 25));
        }
        await flow.cancel('user changed their mind');
        await expect(flow.result({ timeout: '20s' })).rejects.toMatchObject({
          state: 'cancelled',
          error: { message: 'user changed their mind' },
        });
        const { steps } = await flow.status();
        expect(Object.fromEntries(steps.map((s) => [s.name, s.state]))).toEqual({
          quick: 'reverted',
          slow: 'cancelled',
        });
        expect(undone).toEqual(['quick']);
        await expect(flow.cancel()).rejects.toMatchObject({ code: 'CONFLICT' });
      });

      it('a dedup key returns the running flow instead of a second one', async () => {
        const noop = defineTask({ name: 'noop2', input: z.object({}), run: () => 1 });
        await client.close();
        client = createClient({ store, tasks: [noop] });
        const spec = { name: 'once', steps: [{ name: 'a', task: 'noop2' }] }; // no input: {}
        const first = await client.submitFlow(spec, { dedupKey: 'k' });
        const second = await client.submitFlow(spec, { dedupKey: 'k' });
        expect(second).toMatchObject({ id: first.id, deduplicated: true });
        await start([noop]);
        await first.result({ timeout: '20s' });
        const third = await client.submitFlow(spec, { dedupKey: 'k' });
        expect(third.id).not.toBe(first.id);
        await expect(client.getFlow('999999')).rejects.toMatchObject({ code: 'FLOW_NOT_FOUND' });
      });
    });
  });
}
