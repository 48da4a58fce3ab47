import type { Command } from 'commander';
import { createClient } from '../../client/client.js';
import type { SubmitOptions } from '../../client/submit-options.js';
import { ValidationError } from '../../core/errors.js';
import { type GlobalOptions, printJson, withStore } from '../context.js';
import { dim } from '../format.js';
import { loadTasks } from '../load-tasks.js';
import { waitAndPrint } from './jobs.js';

interface SubmitFlags {
  input: string;
  queue?: string;
  priority?: string;
  delay?: string;
  runAt?: string;
  maxAttempts?: string;
  timeout?: string;
  dedupKey?: string;
  dedupWindow?: string;
  metadata?: string;
  tasks?: string;
  wait?: boolean;
  waitTimeout?: string;
}

function parseJson(flag: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ValidationError(`${flag} is not valid JSON: ${(err as Error).message}`, [
      { path: flag, message: 'invalid JSON' },
    ]);
  }
}

function toInt(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n))
    throw new ValidationError(`${flag} must be an integer`, [{ path: flag, message: text }]);
  return n;
}

export function submitCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('submit <task>')
    .description('submit a job; prints its id (or, with --wait, its result)')
    .option('-i, --input <json>', 'the job input, as JSON', '{}')
    .option('--queue <name>', 'queue (default: the task default, else "default")')
    .option('--priority <n>', 'higher runs first')
    .option('--delay <duration>', 'start no earlier than this long from now, e.g. 30s, 5m')
    .option('--run-at <iso-time>', 'start no earlier than this time')
    .option('--max-attempts <n>', 'attempts in all')
    .option('--timeout <duration>', 'per-attempt deadline')
    .option('--dedup-key <key>', 'return the existing job while this key is held')
    .option('--dedup-window <duration>', 'how long the key is held (default: until that job finishes)')
    .option('--metadata <json>', 'JSON object stored with the job')
    .option('--tasks <file>', 'task module to validate the input against before submitting')
    .option('-w, --wait', 'wait for the result; exit 1 if the job fails')
    .option('--wait-timeout <duration>', 'with --wait: give up after this long')
    .action(async (taskName: string, flags: SubmitFlags) => {
      const g = globals();
      const input = parseJson('--input', flags.input);
      const options: SubmitOptions = {};
      if (flags.queue) options.queue = flags.queue;
      const priority = toInt('--priority', flags.priority);
      if (priority !== undefined) options.priority = priority;
      if (flags.delay) options.delay = flags.delay;
      if (flags.runAt) options.runAt = new Date(flags.runAt);
      const maxAttempts = toInt('--max-attempts', flags.maxAttempts);
      if (maxAttempts !== undefined) options.maxAttempts = maxAttempts;
      if (flags.timeout) options.timeout = flags.timeout;
      if (flags.dedupKey) options.dedupKey = flags.dedupKey;
      if (flags.dedupWindow) options.dedupWindow = flags.dedupWindow;
      if (flags.metadata)
        options.metadata = parseJson('--metadata', flags.metadata) as Record<string, unknown>;
      const tasks = flags.tasks ? await loadTasks([flags.tasks]) : [];
      if (flags.tasks && !tasks.some((t) => t.name === taskName)) {
        throw new ValidationError(
          `task ${taskName} is not in ${flags.tasks} (it has: ${tasks.map((t) => t.name).join(', ')})`,
          [{ path: 'task', message: 'unknown task' }],
        );
      }

      process.exitCode = await withStore(g, async (store) => {
        if (tasks.length === 0 && !(await store.getTaskDefaults(taskName))) {
          console.error(
            dim(
              `note: no worker has registered task ${taskName} yet; the job waits in queue "${options.queue ?? 'default'}" until one does`,
            ),
          );
        }
        const client = createClient({ store, tasks });
        let id: string;
        try {
          const handle = await client.submit(taskName, input, options);
          id = handle.id;
          if (!flags.wait) {
            if (g.json) printJson({ id, deduplicated: handle.deduplicated });
            else {
              console.log(handle.deduplicated ? `${id} ${dim('(an existing job with this dedup key)')}` : id);
              if (process.stdout.isTTY)
                console.log(dim(`follow it: stint jobs show ${id}   or   stint jobs wait ${id}`));
            }
            return 0;
          }
        } finally {
          await client.close();
        }
        return waitAndPrint(store, id, flags.waitTimeout, g.json === true);
      });
    });
}
