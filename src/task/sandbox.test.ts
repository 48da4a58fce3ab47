import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask } from './define.js';
import { checkSandboxOverride, resolveSandbox, sandboxForJob } from './sandbox.js';
import { defineShellTask } from './shell.js';

describe('sandbox settings', () => {
  it('resolves defaults', () => {
    expect(resolveSandbox(undefined)).toEqual({ kind: 'inline' });
    expect(resolveSandbox('process')).toEqual({
      kind: 'process',
      memoryMb: null,
      reuse: true,
      maxJobsPerChild: 1000,
      killGraceMs: 2000,
    });
    expect(resolveSandbox({ kind: 'shell', command: ['true'] })).toMatchObject({
      kind: 'shell',
      shell: false,
      result: 'none',
      killGraceMs: 2000,
    });
  });

  it('names the bad field', () => {
    expect(() => resolveSandbox({ kind: 'process', memoryMb: 1 })).toThrow(/sandbox.memoryMb/);
    expect(() => resolveSandbox({ kind: 'shell', command: [] })).toThrow(/sandbox.command/);
    expect(() => resolveSandbox({ kind: 'vm' } as never)).toThrow(/sandbox.kind/);
  });

  it('a process task needs its module', () => {
    const base = { name: 't', input: z.object({}), run: () => null };
    expect(() => defineTask({ ...base, sandbox: 'process' })).toThrow(/module: import.meta.url/);
    expect(defineTask({ ...base, sandbox: 'process', module: import.meta.url }).module).toBe(import.meta.url);
  });

  it('applies a submission override', () => {
    const inline = resolveSandbox('inline');
    const proc = resolveSandbox({ kind: 'process', memoryMb: 256 });
    expect(sandboxForJob(inline, { kind: 'process' })).toMatchObject({ kind: 'process', memoryMb: null });
    expect(sandboxForJob(proc, { memoryMb: 512 })).toMatchObject({ kind: 'process', memoryMb: 512 });
    expect(sandboxForJob(proc, { kind: 'inline' })).toEqual({ kind: 'inline' });
    // A memory limit alone does not move an inline task: only a process has one.
    expect(sandboxForJob(inline, { memoryMb: 512 })).toEqual({ kind: 'inline' });
    const shell = defineShellTask({ name: 's', input: z.object({}), command: ['true'] }).sandbox;
    expect(() => sandboxForJob(shell, { kind: 'inline' })).toThrow(/shell task/);
  });

  it('checks overrides', () => {
    expect(checkSandboxOverride(undefined)).toBeNull();
    expect(checkSandboxOverride('process')).toEqual({ kind: 'process' });
    expect(() => checkSandboxOverride({ kind: 'shell' })).toThrow(/options.sandbox.kind/);
    expect(() => checkSandboxOverride({ cpu: 1 })).toThrow(/unknown field/);
  });
});
