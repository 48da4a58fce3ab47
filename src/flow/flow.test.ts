import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ValidationError } from '../core/errors.js';
import { defineTask } from '../task/define.js';
import { createFlow } from './builder.js';
import { resolveTemplate } from './resolve.js';
import { checkFlowSpec, parseRef } from './spec.js';

const net = defineTask({
  name: 'createNetwork',
  input: z.object({ cidr: z.string() }),
  run: () => ({ id: 'n1' }),
});
const ip = defineTask({
  name: 'allocateIp',
  input: z.object({ networkId: z.string(), count: z.number() }),
  run: () => ({ ip: '10.0.0.1' }),
});

describe('the builder', () => {
  it('turns references into $ref values and names repeated tasks apart', () => {
    const f = createFlow<{ cidr: string; ids: string[] }>('vm', { onFailure: 'continue' });
    const n = f.step(net, { cidr: f.store.cidr });
    const i = f.step(
      ip,
      { networkId: n.output.id as never, count: 2 },
      { after: [n], retry: { maxAttempts: 1 } },
    );
    f.step(ip, { networkId: 'x', count: 1 });
    f.map(net, f.store.ids, (id) => ({ cidr: id }), { concurrency: 3, name: 'each' });
    expect(i.name).toBe('allocateIp');
    expect(f.toSpec()).toEqual({
      name: 'vm',
      onFailure: 'continue',
      steps: [
        { name: 'createNetwork', task: 'createNetwork', input: { cidr: { $ref: 'store.cidr' } } },
        {
          name: 'allocateIp',
          task: 'allocateIp',
          input: { networkId: { $ref: 'steps.createNetwork.output.id' }, count: 2 },
          after: ['createNetwork'],
          retry: { maxAttempts: 1 },
        },
        { name: 'allocateIp-2', task: 'allocateIp', input: { networkId: 'x', count: 1 } },
        {
          name: 'each',
          task: 'createNetwork',
          input: { cidr: { $ref: 'item' } },
          map: { over: { $ref: 'store.ids' }, concurrency: 3 },
        },
      ],
    });
    // The spec is plain JSON.
    expect(JSON.parse(JSON.stringify(f.toSpec()))).toEqual(f.toSpec());
    expect(f.tasks.get('allocateIp')).toBe(ip);
  });
});

describe('checking a spec', () => {
  it('finds each step’s dependencies from references and after', () => {
    const { steps } = checkFlowSpec({
      name: 'f',
      steps: [
        { name: 'a', task: 't' },
        { name: 'b', task: 't', input: { x: [{ $ref: 'steps.a.output.k' }] } },
        { name: 'c', task: 't', after: ['a', 'b'], input: { y: { $ref: 'steps.b.output' } } },
      ],
    });
    expect(steps.map((s) => s.deps)).toEqual([[], ['a'], ['b', 'a']]);
  });

  it('names the cycle', () => {
    expect(() =>
      checkFlowSpec({
        name: 'f',
        steps: [
          { name: 'a', task: 't', after: ['b'] },
          { name: 'b', task: 't', after: ['a'] },
        ],
      }),
    ).toThrow(/cycle: a -> b -> a/);
  });

  it('rejects malformed references with the step and field', () => {
    const err = (() => {
      try {
        checkFlowSpec({ name: 'f', steps: [{ name: 'a', task: 't', input: { x: { $ref: 'steps.a' } } }] });
      } catch (e) {
        return e as ValidationError;
      }
    })();
    expect(err).toBeInstanceOf(ValidationError);
    expect(err?.issues[0]?.message).toContain('step a: bad reference');
    expect(() => parseRef('outputs.a')).toThrow(/must start with store., steps. or item/);
    expect(() => checkFlowSpec({ name: 'f', steps: [] })).toThrow(/at least one step/);
    expect(() => checkFlowSpec({ name: 'f', steps: [{ name: 'a', task: 't', extra: 1 }] })).toThrow(
      ValidationError,
    );
  });
});

describe('resolving references', () => {
  const scope = {
    store: { cidr: '10.0.0.0/24' },
    outputs: new Map<string, unknown>([['net', { id: 'n1', tags: ['x', 'y'] }]]),
  };

  it('replaces each reference with the value it names, at any depth', () => {
    expect(
      resolveTemplate(
        {
          a: { $ref: 'steps.net.output.id' },
          b: [{ $ref: 'steps.net.output.tags.1' }],
          c: { $ref: 'store.cidr' },
          d: 1,
        },
        scope,
        's',
      ),
    ).toEqual({ a: 'n1', b: ['y'], c: '10.0.0.0/24', d: 1 });
  });

  it('says which step, field and path are missing', () => {
    expect(() => resolveTemplate({ a: { $ref: 'steps.net.output.nope.deeper' } }, scope, 'ip')).toThrow(
      'step ip: input.a refers to steps.net.output.nope.deeper, but the output of step net has no field "nope" (it is an object with id, tags)',
    );
    expect(() => resolveTemplate({ $ref: 'steps.net.output.tags.5' }, scope, 'ip')).toThrow(
      /at tags has no field "5"/,
    );
  });

  it('keeps item references for a map until each element is known', () => {
    const each = resolveTemplate(
      { v: { $ref: 'item.v' }, c: { $ref: 'store.cidr' } },
      scope,
      'm',
      'input',
      true,
    );
    expect(each).toEqual({ v: { $ref: 'item.v' }, c: '10.0.0.0/24' });
    expect(resolveTemplate(each, { store: null, outputs: new Map(), item: { v: 3 } }, 'm[0]')).toEqual({
      v: 3,
      c: '10.0.0.0/24',
    });
  });
});
