import type { Command } from 'commander';
import { ValidationError } from '../../core/errors.js';
import type { JobObserver } from '../../metrics/observer.js';
import { openStore } from '../../store/open.js';
import type { Task } from '../../task/define.js';
import { createWorker, type Worker } from '../../worker/worker.js';
import { databaseUrl, type GlobalOptions } from '../context.js';
import { bold, dim } from '../format.js';
import { loadTasks } from '../load-tasks.js';
import { keyValueFlag, listFlag, resourcesFlag } from '../parse.js';

/** Stops the worker gracefully on SIGINT/SIGTERM; a second signal exits at once. */
export function stopOnSignals(worker: Worker, onStopped: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      console.error(
        `\n${signal} again: exiting now; running jobs run again elsewhere when their leases expire`,
      );
      process.exit(130);
    }
    stopping = true;
    console.error(`\n${signal}: finishing running jobs (press Ctrl-C again to exit at once)...`);
    worker
      .stop()
      .then(onStopped)
      .then(
        () => process.exit(0),
        (err: unknown) => {
          console.error(`stint: error while stopping: ${(err as Error).message}`);
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

export function parseConcurrency(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    throw new ValidationError('--concurrency must be a positive integer', [
      { path: 'concurrency', message: text },
    ]);
  }
  return n;
}

export async function runWorker(
  g: GlobalOptions,
  tasks: Task[],
  opts: {
    queues?: string;
    concurrency: string;
    capacity?: string;
    labels?: string;
    metrics?: JobObserver | null;
  },
): Promise<{ worker: Worker; close: () => Promise<void> }> {
  const store = openStore(databaseUrl(g));
  const worker = createWorker({
    store,
    tasks,
    concurrency: parseConcurrency(opts.concurrency),
    ...(opts.queues ? { queues: listFlag('--queues', opts.queues) } : {}),
    ...(opts.capacity ? { capacity: resourcesFlag('--capacity', opts.capacity) } : {}),
    ...(opts.labels ? { labels: keyValueFlag('--labels', opts.labels) } : {}),
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
  });
  await worker.start();
  return { worker, close: () => store.close() };
}

export function workerCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('worker')
    .description('run a worker for the tasks exported by one or more modules (.ts files load directly)')
    .requiredOption('--tasks <files...>', 'task modules')
    .option('--queues <names>', "comma-separated queues (default: the tasks' queues)")
    .option('--concurrency <n>', 'jobs at once', '10')
    .option(
      '--capacity <amounts>',
      'resources jobs may use, e.g. cpu=4,memoryMb=8000,gpu=1 (default: cores and memory)',
    )
    .option(
      '--labels <pairs>',
      'labels jobs can require, e.g. zone=eu-1,ssd=nvme (os, arch and host are added)',
    )
    .action(
      async (opts: {
        tasks: string[];
        queues?: string;
        concurrency: string;
        capacity?: string;
        labels?: string;
      }) => {
        const g = globals();
        const tasks = await loadTasks(opts.tasks);
        const { worker, close } = await runWorker(g, tasks, opts);
        console.log(`${bold('stint worker')} ${worker.id} on ${databaseUrl(g)}`);
        console.log(dim(`tasks: ${tasks.map((t) => t.name).join(', ')}`));
        stopOnSignals(worker, close);
      },
    );
}
