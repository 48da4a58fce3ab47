import type { Command } from 'commander';
import { exampleTasks } from '../../../examples/tasks.js';
import { databaseUrl, type GlobalOptions } from '../context.js';
import { bold, dim } from '../format.js';
import { loadTasks } from '../load-tasks.js';
import { runWorker, stopOnSignals } from './worker.js';

export function devCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('dev')
    .description('the embedded store, the coordinator and a worker with the example tasks, in one process')
    .option('--tasks <files...>', 'run these task modules instead of the examples')
    .option('--concurrency <n>', 'jobs at once', '10')
    .action(async (opts: { tasks?: string[]; concurrency: string }) => {
      const g = globals();
      const tasks = opts.tasks ? await loadTasks(opts.tasks) : exampleTasks;
      const { worker, close } = await runWorker(g, tasks, opts);
      const db = databaseUrl(g);
      const cli = 'npx stint';
      console.log(`${bold('stint dev')} is running
  ${dim('database')}  ${db}
  ${dim('worker')}    ${worker.id}, concurrency ${opts.concurrency}
  ${dim('tasks')}     ${tasks.map((t) => t.name).join(', ')}

Try, from another terminal in this directory:
  ${cli} submit hello --input '{"name":"Ada"}' --wait
  ${cli} submit sleep --input '{"seconds":10}'
  ${cli} jobs ls
  ${cli} jobs show <id>
  ${cli} logs <id> --follow

Press Ctrl-C to stop (running jobs are allowed to finish).`);
      stopOnSignals(worker, close);
    });
}
