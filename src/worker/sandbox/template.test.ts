import { describe, expect, it } from 'vitest';
import { resolveSandbox } from '../../task/sandbox.js';
import { commandLine } from './shell.js';
import { fill, shellQuote } from './template.js';

const scope = {
  input: { file: 'a b.png', n: 3, nested: { x: [1, 2] }, quote: "it's" },
  job: { id: '42', attempt: 2, task: 't', queue: 'q' },
};

describe('fill', () => {
  it('fills fields, whole input and job values; non-strings as JSON', () => {
    expect(fill('{{input.file}}', scope)).toBe('a b.png');
    expect(fill('--n={{ input.n }}', scope)).toBe('--n=3');
    expect(fill('{{input.nested}}', scope)).toBe('{"x":[1,2]}');
    expect(fill('{{job.id}}-{{job.attempt}}', scope)).toBe('42-2');
    expect(JSON.parse(fill('{{input}}', scope))).toEqual(scope.input);
  });

  it('names a placeholder without a value', () => {
    expect(() => fill('{{input.missing}}', scope)).toThrow(/\{\{input.missing\}\} has no value/);
    expect(() => fill('{{env.HOME}}', scope)).toThrow(/start with input or job/);
  });

  it('quotes for the shell so a value stays one word', () => {
    expect(shellQuote("it's; rm -rf /")).toBe(`'it'\\''s; rm -rf /'`);
    expect(fill('echo {{input.quote}}', scope, shellQuote)).toBe(`echo 'it'\\''s'`);
  });
});

describe('commandLine', () => {
  it('spawns the program directly, one argument per element', () => {
    const s = resolveSandbox({
      kind: 'shell',
      command: ['convert', '{{input.file}}', 'out.png'],
      env: { N: '{{input.n}}' },
    });
    if (s.kind !== 'shell') throw new Error('not shell');
    const line = commandLine(s, scope);
    expect(line.file).toBe('convert');
    expect(line.args).toEqual(['a b.png', 'out.png']);
    expect(line.env).toMatchObject({ N: '3', STINT_JOB_ID: '42', STINT_JOB_ATTEMPT: '2' });
    expect(JSON.parse(line.env.STINT_INPUT as string)).toEqual(scope.input);
  });

  it('with shell: true, joins into one /bin/sh line with quoted values', () => {
    const s = resolveSandbox({
      kind: 'shell',
      shell: true,
      command: ['ls', '{{input.file}}', '|', 'wc', '-l'],
    });
    if (s.kind !== 'shell') throw new Error('not shell');
    expect(commandLine(s, scope)).toMatchObject({ file: '/bin/sh', args: ['-c', "ls 'a b.png' | wc -l"] });
  });
});
