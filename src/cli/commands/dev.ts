import type { Command } from 'commander';
import { exampleTasks } from '../../../examples/tasks.js';
import { databaseUrl, type GlobalOptions } from '../context.js';
import { bold, dim } from '../format.js';
import { loadTasks } from '../load-tasks.js';
import { parsePort, startServer } from './server.js';
import { runWorker, stopOnSignals } from './worker.js';

export function devCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('dev')
    .description('the embedded store, the coordinator and a worker with the example tasks, in one process')
    .option('--tasks <files...>', 'run these task modules instead of the examples')
    .option('--concurrency <n>', 'jobs at once', '10')
    .option('--port <n>', 'port of the HTTP API on 127.0.0.1 (0: any free port)', '7070')
    .action(async (opts: { tasks?: string[]; concurrency: string; port: string }) => {
      const g = globals();
      const tasks = opts.tasks ? await loadTasks(opts.tasks) : exampleTasks;
      const db = databaseUrl(g);
      // The HTTP API on loopback, auth off (startServer prints a loud warning saying so).
      const server = await startServer(db, { host: '127.0.0.1', port: parsePort(opts.port) });
      // The worker feeds the server's /metrics (job counters and histograms of this process).
      const { worker, close } = await runWorker(g, tasks, { ...opts, metrics: server.metrics }).catch(
        async (err: unknown) => {
          await server.close();
          throw err;
        },
      );
      const cli = 'npx stint';
      console.log(`${bold('stint dev')} is running
  ${dim('database')}  ${db}
  ${dim('worker')}    ${worker.id}, concurrency ${opts.concurrency}
  ${dim('tasks')}     ${tasks.map((t) => t.name).join(', ')}
  ${dim('web UI')}    ${server.url}/ui/
  ${dim('HTTP API')}  ${server.url}/api/v1 ${dim('(auth off; docs at')} ${server.url}/docs${dim(')')}
  ${dim('metrics')}   ${server.url}/metrics

Try, from another terminal in this directory:
  ${cli} submit hello --input '{"name":"Ada"}' --wait
  ${cli} submit sleep --input '{"seconds":10}'
  ${cli} jobs ls
  ${cli} jobs show <id>
  ${cli} logs <id> --follow

Press Ctrl-C to stop (running jobs are allowed to finish).`);
      stopOnSignals(worker, async () => {
        await server.close();
        await close();
      });
    });
}
