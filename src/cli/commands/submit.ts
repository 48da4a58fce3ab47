import type { Command } from 'commander';
import type { SubmitOptions } from '../../client/submit-options.js';
import { ValidationError } from '../../core/errors.js';
import { type GlobalOptions, printJson } from '../context.js';
import { dim } from '../format.js';
import { loadTasks } from '../load-tasks.js';
import { intFlag, listFlag, resourcesFlag, usage } from '../parse.js';
import { isRegistered, withClient } from '../with-client.js';
import { waitAndPrint } from './jobs.js';
import { readInputs, submitBulk } from './submit-bulk.js';

/** `zone=eu-1,ssd` -> { zone: 'eu-1', ssd: true } (a bare name asks only for the label). */
function labelsFlag(text: string): Record<string, string | true> {
  const out: Record<string, string | true> = {};
  for (const item of listFlag('--labels', text)) {
    const eq = item.indexOf('=');
    if (eq === 0)
      throw new ValidationError('--labels: a label needs a name', [{ path: '--labels', message: text }]);
    if (eq < 0) out[item] = true;
    else out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

interface SubmitFlags {
  input: string;
  inputFile?: string;
  queue?: string;
  priority?: string;
  delay?: string;
  runAt?: string;
  maxAttempts?: string;
  timeout?: string;
  dedupKey?: string;
  dedupWindow?: string;
  metadata?: string;
  resources?: string;
  labels?: string;
  concurrencyKey?: string;
  concurrencyLimit?: string;
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
    .description(
      'submit a job (or one per line of --input-file); prints its id (or, with --wait, its result)',
    )
    .option('-i, --input <json>', 'the job input, as JSON', '{}')
    .option(
      '--input-file <path>',
      'submit one job per input: a JSON array or JSON lines (one input per line; - for stdin)',
    )
    .option('--queue <name>', 'queue (default: the task default, else "default")')
    .option('--priority <n>', 'higher runs first')
    .option('--delay <duration>', 'start no earlier than this long from now, e.g. 30s, 5m')
    .option('--run-at <iso-time>', 'start no earlier than this time')
    .option('--max-attempts <n>', 'attempts in all')
    .option('--timeout <duration>', 'per-attempt deadline')
    .option('--dedup-key <key>', 'return the existing job while this key is held')
    .option('--dedup-window <duration>', 'how long the key is held (default: until that job finishes)')
    .option('--metadata <json>', 'JSON object stored with the job')
    .option(
      '--resources <amounts>',
      "what the job takes of its worker, e.g. cpu=2,gpu=1 (replaces the task's)",
    )
    .option('--labels <pairs>', 'labels its worker must have, e.g. zone=eu-1 (a bare name: has the label)')
    .option(
      '--concurrency-key <key>',
      'run at most --concurrency-limit jobs of this key at once, cluster-wide',
    )
    .option('--concurrency-limit <n>', 'with --concurrency-key', '1')
    .option('--tasks <file>', 'task module to validate the input against before submitting')
    .option('-w, --wait', 'wait for the result; exit 1 if the job fails')
    .option('--wait-timeout <duration>', 'with --wait: give up after this long')
    .action(async (taskName: string, flags: SubmitFlags) => {
      const g = globals();
      const input = parseJson('--input', flags.input);
      const inputs = flags.inputFile !== undefined ? readInputs(flags.inputFile) : null;
      if (inputs && flags.input !== '{}') usage('--input-file', 'and --input cannot be used together');
      if (inputs?.length === 0)
        usage('--input-file', `holds no inputs: give one JSON input per line, or a JSON array`);
      if (inputs && flags.dedupKey)
        usage('--input-file', 'cannot be used with --dedup-key: every job would share the one key');
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
      if (flags.resources) options.resources = resourcesFlag('--resources', flags.resources);
      if (flags.labels) options.labels = labelsFlag(flags.labels);
      if (flags.concurrencyKey)
        options.concurrency = {
          key: flags.concurrencyKey,
          limit: intFlag('--concurrency-limit', flags.concurrencyLimit, 1) as number,
        };
      const tasks = flags.tasks ? await loadTasks([flags.tasks]) : [];
      if (flags.tasks && !tasks.some((t) => t.name === taskName)) {
        throw new ValidationError(
          `task ${taskName} is not in ${flags.tasks} (it has: ${tasks.map((t) => t.name).join(', ')})`,
          [{ path: 'task', message: 'unknown task' }],
        );
      }

      process.exitCode = await withClient(
        g,
        async (client) => {
          if (tasks.length === 0 && !(await isRegistered(client, taskName))) {
            console.error(
              dim(
                `note: no worker has registered task ${taskName} yet; the job waits in queue "${options.queue ?? 'default'}" until one does`,
              ),
            );
          }
          if (inputs)
            return submitBulk(client, taskName, inputs, options, {
              wait: flags.wait === true,
              json: g.json === true,
              ...(flags.waitTimeout ? { waitTimeout: flags.waitTimeout } : {}),
            });
          const handle = await client.submit(taskName, input, options);
          const id = handle.id;
          if (!flags.wait) {
            if (g.json) printJson({ id, deduplicated: handle.deduplicated });
            else {
              console.log(handle.deduplicated ? `${id} ${dim('(an existing job with this dedup key)')}` : id);
              if (process.stdout.isTTY)
                console.log(dim(`follow it: stint jobs show ${id}   or   stint jobs wait ${id}`));
            }
            return 0;
          }
          return waitAndPrint(client, id, flags.waitTimeout, g.json === true);
        },
        { tasks },
      );
    });
}
