import type { Command } from 'commander';
import { type GlobalOptions, printJson } from '../context.js';
import { colourFlowState, dim, relativeTime, table } from '../format.js';
import { jsonObjectFlag, parseLimitFlag } from '../parse.js';
import { runTarget } from '../schedule-format.js';
import { withClient } from '../with-client.js';

type Globals = () => GlobalOptions;

export function datasetsCommands(program: Command, globals: Globals): void {
  const datasets = program
    .command('datasets')
    .alias('dataset')
    .description('mark dataset partitions available (schedules waiting on them fire) and list them');

  datasets
    .command('mark <dataset> <partition>')
    .description('mark a partition available; schedules waiting on the dataset fire once all theirs have it')
    .option('--metadata <json>', 'JSON object stored with the partition (e.g. row counts, a path)')
    .action(async (dataset: string, partition: string, opts: { metadata?: string }) => {
      const g = globals();
      const metadata = opts.metadata === undefined ? undefined : jsonObjectFlag('--metadata', opts.metadata);
      await withClient(g, async (client) => {
        const marked = await client.markAvailable(dataset, partition, metadata);
        if (g.json) return printJson(marked);
        console.log(
          marked.created
            ? `${dataset} ${partition}: marked available`
            : `${dataset} ${partition}: already marked ${relativeTime(marked.partition.markedAt)} ${dim('(nothing fires twice)')}`,
        );
      });
    });

  datasets
    .command('ls')
    .alias('list')
    .description('datasets with their partition count and when one was last marked')
    .action(async () => {
      const g = globals();
      await withClient(g, async (client) => {
        const all = await client.listDatasets();
        if (g.json) return printJson(all);
        if (all.length === 0)
          console.log(dim('no datasets (mark one: stint datasets mark <dataset> <partition>)'));
        else
          console.log(
            table(
              ['DATASET', 'PARTITIONS', 'LAST MARKED'],
              all.map((d) => [d.name, String(d.partitions), relativeTime(d.lastMarkedAt)]),
            ),
          );
      });
    });

  datasets
    .command('partitions <dataset>')
    .description("a dataset's partitions, newest first, each with the schedule runs it triggered")
    .option('--limit <n>', 'partitions per page', '50')
    .option('--cursor <cursor>', 'the next page, as printed by the previous one')
    .action(async (dataset: string, opts: { limit: string; cursor?: string }) => {
      const g = globals();
      const limit = parseLimitFlag(opts.limit);
      await withClient(g, async (client) => {
        const page = await client.listPartitions(dataset, {
          limit,
          ...(opts.cursor ? { cursor: opts.cursor } : {}),
        });
        if (g.json) return printJson(page);
        if (page.partitions.length === 0)
          console.log(
            dim(`no partitions of ${dataset} (mark one: stint datasets mark ${dataset} <partition>)`),
          );
        else
          console.log(
            table(
              ['PARTITION', 'MARKED', 'RUNS', 'METADATA'],
              page.partitions.map((p) => [
                p.partition,
                relativeTime(p.markedAt),
                p.runs.length === 0
                  ? dim('none')
                  : p.runs
                      .map((r) => `${r.scheduleName} ${runTarget(r)} ${colourFlowState(r.state)}`)
                      .join(', '),
                p.metadata ? dim(JSON.stringify(p.metadata)) : '',
              ]),
            ),
          );
        if (page.nextCursor)
          console.log(dim(`more: stint datasets partitions ${dataset} --cursor ${page.nextCursor}`));
      });
    });
}
