import type { Command } from 'commander';
import type { QueueSettingsInput } from '../../client/queues.js';
import type { QueueSettings, WorkerRecord } from '../../store/types.js';
import { type GlobalOptions, printJson } from '../context.js';
import { dim, relativeTime, table } from '../format.js';
import { choiceFlag, intFlag, usage } from '../parse.js';
import { withClient } from '../with-client.js';

type Globals = () => GlobalOptions;

/** `cpu=1/4,gpu=0/1`: what a worker uses of what it has. */
export function usageOf(w: Pick<WorkerRecord, 'capacity' | 'inUse'>): string {
  const keys = Object.keys(w.capacity);
  if (keys.length === 0) return '-';
  return keys.map((k) => `${k}=${Math.round((w.inUse[k] ?? 0) * 100) / 100}/${w.capacity[k]}`).join(',');
}

function limits(s: QueueSettings): string {
  const parts: string[] = [];
  if (s.maxPending !== null) parts.push(`max ${s.maxPending} pending (${s.shedPolicy})`);
  if (s.rateLimit) parts.push(`${s.rateLimit.limit} starts / ${s.rateLimit.periodMs} ms`);
  return parts.join('; ') || '-';
}

/** `--rate 10/1s` -> { limit: 10, period: '1s' }; `none` removes it. */
function rateFlag(text: string): QueueSettingsInput['rateLimit'] {
  if (text === 'none') return null;
  const m = /^(\d+)\/(.+)$/.exec(text);
  if (!m) usage('--rate', 'takes starts/period, e.g. --rate 10/1s, or none', text);
  return { limit: intFlag('--rate', m[1], 1) as number, period: m[2] as string };
}

export function workersCommands(program: Command, globals: Globals): void {
  const workers = program.command('workers').description('the worker registry');
  workers
    .command('ls')
    .alias('list')
    .description('workers with their queues, labels, capacity in use and last heartbeat')
    .option('--all', 'also stopped and gone workers')
    .action(async (opts: { all?: boolean }) => {
      const g = globals();
      await withClient(g, async (client) => {
        const all = await client.listWorkers(opts.all ? undefined : { state: 'active' });
        if (g.json) return printJson(all);
        if (all.length === 0) {
          console.log(
            dim(opts.all ? 'no workers' : 'no active workers (start one: stint worker --tasks ./tasks.ts)'),
          );
          return;
        }
        console.log(
          table(
            ['WORKER', 'STATE', 'QUEUES', 'RUNNING', 'IN USE / CAPACITY', 'LABELS', 'HEARTBEAT'],
            all.map((w) => [
              w.id,
              w.state,
              w.queues.join(','),
              `${w.running}/${w.concurrency}`,
              usageOf(w),
              Object.entries(w.labels)
                .map(([k, v]) => `${k}=${v}`)
                .join(','),
              relativeTime(w.heartbeatAt),
            ]),
          ),
        );
      });
    });
}

export function queuesCommands(program: Command, globals: Globals): void {
  const queues = program.command('queues').alias('queue').description('queue depth, throughput and limits');
  queues
    .command('ls')
    .alias('list')
    .description('queues with jobs per state, jobs finished in the last minute, workers and limits')
    .action(async () => {
      const g = globals();
      await withClient(g, async (client) => {
        const all = await client.listQueues();
        if (g.json) return printJson(all);
        if (all.length === 0) return console.log(dim('no queues yet (submit a job)'));
        console.log(
          table(
            [
              'QUEUE',
              'PENDING',
              'DUE',
              'RUNNING',
              'SUCCEEDED',
              'FAILED',
              'CANCELLED',
              '/MIN',
              'WORKERS',
              'LIMITS',
            ],
            all.map((q) => [
              q.name,
              String(q.pending),
              String(q.due),
              String(q.running),
              String(q.succeeded),
              String(q.failed),
              String(q.cancelled),
              String(q.finishedLastMinute),
              String(q.workers),
              limits(q.settings),
            ]),
          ),
        );
      });
    });
  queues
    .command('set <name>')
    .description('set admission and rate limits of a queue')
    .option('--max-pending <n>', 'pending jobs admitted (none: no limit)')
    .option('--shed <policy>', 'at the limit: reject (the default) or drop_lowest_priority')
    .option('--rate <starts/period>', 'at most this many starts per period, e.g. 10/1s (none: no limit)')
    .action(async (name: string, opts: { maxPending?: string; shed?: string; rate?: string }) => {
      const g = globals();
      const settings: QueueSettingsInput = {};
      if (opts.maxPending !== undefined)
        settings.maxPending =
          opts.maxPending === 'none' ? null : (intFlag('--max-pending', opts.maxPending, 1) as number);
      const shed = choiceFlag('--shed', opts.shed, ['reject', 'drop_lowest_priority'] as const);
      if (shed) settings.shedPolicy = shed;
      if (opts.rate !== undefined) settings.rateLimit = rateFlag(opts.rate);
      if (Object.keys(settings).length === 0) usage('set', 'needs --max-pending, --shed or --rate');
      await withClient(g, async (client) => {
        const saved = await client.setQueue(name, settings);
        if (g.json) return printJson(saved);
        console.log(`${name}: ${limits(saved)}`);
      });
    });
}
