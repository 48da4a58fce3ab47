import type { z } from 'zod';
import { PermanentError } from '../core/errors.js';
import { defineTask, type Task, type TaskDefinition } from './define.js';
import type { ShellSandboxOptions } from './sandbox.js';

/** A task that runs a command line: `defineTask` without `run`, plus the shell sandbox's options. */
export type ShellTaskDefinition<S extends z.ZodType, O = unknown> = Omit<
  TaskDefinition<S, unknown>,
  'run' | 'revert' | 'sandbox' | 'module' | 'output'
> &
  Omit<ShellSandboxOptions, 'kind'> & {
    /** Validates the output (with `result: 'last-json-line'`); its type is the task's output type. */
    output?: z.ZodType<O>;
  };

/**
 * Defines a task whose jobs run a command (see docs/sandboxes.md):
 *
 *   defineShellTask({ name: 'thumb', input: z.object({ file: z.string() }),
 *     command: ['convert', '{{input.file}}', '-resize', '64x64', 'thumb.png'] })
 *
 * Exit code 0 succeeds; anything else fails the attempt with the exit code and the last stderr lines.
 */
export function defineShellTask<S extends z.ZodType, O = unknown>(
  definition: ShellTaskDefinition<S, O>,
): Task<z.input<S>, O> {
  const { command, env, cwd, shell, result, killGrace, ...rest } = definition;
  return defineTask({
    ...rest,
    sandbox: {
      kind: 'shell',
      command,
      ...(env !== undefined ? { env } : {}),
      ...(cwd !== undefined ? { cwd } : {}),
      ...(shell !== undefined ? { shell } : {}),
      ...(result !== undefined ? { result } : {}),
      ...(killGrace !== undefined ? { killGrace } : {}),
    },
    run: () => {
      throw new PermanentError(`task ${definition.name} is a shell task: only the shell sandbox can run it`);
    },
  }) as Task<z.input<S>, O>;
}
