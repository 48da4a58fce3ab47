import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ValidationError } from '../core/errors.js';
import type { Task } from '../task/define.js';

function isTask(value: unknown): value is Task {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<Task>;
  return (
    typeof v.name === 'string' &&
    typeof v.run === 'function' &&
    typeof v.input?.safeParse === 'function' &&
    !!v.retry
  );
}

/**
 * Loads the tasks a module exports (named exports, a default export, or arrays of tasks).
 * TypeScript files load directly through tsx.
 */
export async function loadTasks(files: readonly string[]): Promise<Task[]> {
  const tasks = new Map<string, Task>();
  for (const file of files) {
    const path = resolve(file);
    if (/\.[cm]?tsx?$/.test(path)) {
      const { register } = await import('tsx/esm/api');
      register();
    }
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
    } catch (err) {
      throw new ValidationError(
        `cannot load tasks from ${file}: ${(err as Error).message}`,
        [{ path: 'tasks', message: file }],
        {
          cause: err,
        },
      );
    }
    for (const value of Object.values(mod).flatMap((v) => (Array.isArray(v) ? v : [v]))) {
      if (isTask(value)) tasks.set(value.name, value);
    }
  }
  if (tasks.size === 0) {
    throw new ValidationError(`no tasks found in ${files.join(', ')}: export tasks made with defineTask`, [
      { path: 'tasks', message: 'no tasks exported' },
    ]);
  }
  return [...tasks.values()];
}
