import type { Command } from 'commander';
import type { BackfillOptions } from '../../client/schedules.js';
import { ConflictError } from '../../core/errors.js';
import type { BackfillRecord } from '../../schedule/types.js';
import { EXIT, type GlobalOptions, printJson } from '../context.js';
import { dim, table } from '../format.js';
import { intFlag, listFlag, usage } from '../parse.js';
import { withFlagNames } from '../schedule-flags.js';
import {
  BACKFILL_HEADERS,
  backfillDetails,
  backfillProgress,
  backfillRow,
  colourBackfillState,
  progressBar,
  progressText,
} from '../schedule-format.js';
import { type CommandClient, withClient } from '../with-client.js';

type Globals = () => GlobalOptions;

const POLL_MS = 500;
/** With no progress for this long, say what moves a backfill on. */
const STALL_HINT_MS = 10_000;

/**
 * `stint backfill <schedule> --from --to` (the default subcommand, `start`), and
 * `stint backfill show|ls|cancel`; `backfills` is an alias of `backfill`.
 */
export function backfillCommands(program: Command, globals: Globals): void {
  const backfill = program
    .command('backfill')
    .alias('backfills')
    .description(
      'run a schedule for every fire time (or partition) in a range; follow, list and cancel backfills',
    );

  backfill
    .command('start <schedule>', { isDefault: true })
    .description(
      'start a backfill (the default: stint backfill <schedule> --from T --to T); prints its id; runs that already happened are not repeated',
    )
    .option('--from <time>', 'first fire time, ISO 8601 (dataset schedules: first partition name)')
    .option('--to <time>', 'last fire time, inclusive (dataset schedules: last partition name)')
    .option('--partitions <list>', 'dataset schedules: exactly these partitions (comma-separated)')
    .option('--concurrency <n>', 'at most this many of its runs at once', '1')
    .option('-w, --wait', 'follow its progress until it ends; exit 1 if a run failed or it was cancelled')
    .action(
      async (
        schedule: string,
        opts: { from?: string; to?: string; partitions?: string; concurrency: string; wait?: boolean },
      ) => {
        const g = globals();
        const options: BackfillOptions = {
          concurrency: intFlag('--concurrency', opts.concurrency) as number,
        };
        if (opts.partitions !== undefined) options.partitions = listFlag('--partitions', opts.partitions);
        else if (opts.from === undefined || opts.to === undefined)
          usage(
            '--from and --to',
            'are required, e.g. --from 2026-11-01T00:00:00Z --to 2026-11-30T23:59:59Z',
          );
        if (opts.from !== undefined) options.from = opts.from;
        if (opts.to !== undefined) options.to = opts.to;
        process.exitCode = await withClient(g, async (client) => {
          const started = await withFlagNames(() => client.backfill(schedule, options));
          if (!opts.wait) {
            if (g.json) printJson(started);
            else {
              console.log(started.id);
              if (process.stdout.isTTY)
                console.log(
                  dim(
                    `${started.total} runs; follow it: stint backfill show ${started.id}   cancel: stint backfill cancel ${started.id}`,
                  ),
                );
            }
            return EXIT.ok;
          }
          if (!g.json)
            console.log(
              `backfill ${started.id}: ${started.total} runs of ${schedule}, ${started.concurrency} at a time`,
            );
          return follow(client, started, g.json === true);
        });
      },
    );

  backfill
    .command('show <id>')
    .description("a backfill's range, progress and its runs by state")
    .action(async (id: string) => {
      const g = globals();
      await withClient(g, async (client) => {
        const b = await client.getBackfill(id);
        if (g.json) return printJson(b);
        console.log(backfillDetails(b));
      });
    });

  backfill
    .command('ls [schedule]')
    .alias('list')
    .description("backfills, newest first (only one schedule's, when named)")
    .action(async (schedule: string | undefined) => {
      const g = globals();
      await withClient(g, async (client) => {
        const backfills = await client.listBackfills(schedule);
        if (g.json) return printJson(backfills);
        if (backfills.length === 0) console.log(dim('no backfills'));
        else
          console.log(
            table(
              BACKFILL_HEADERS,
              backfills.map((b) => backfillRow(b)),
            ),
          );
      });
    });

  backfill
    .command('cancel <id>')
    .description('stop a backfill: no new runs; its pending and running runs are cancelled')
    .action(async (id: string) => {
      const g = globals();
      await withClient(g, async (client) => {
        const cancelled = await client.cancelBackfill(id).catch((err: unknown) => {
          if (err instanceof ConflictError)
            throw new ConflictError(`${err.message}: only a running backfill can be cancelled`, {
              cause: err,
            });
          throw err;
        });
        if (g.json) return printJson(cancelled);
        console.log(`backfill ${id}: ${colourBackfillState(cancelled.state)} (${progressText(cancelled)})`);
      });
    });
}

/** Polls a backfill until it ends: a bar redrawn in place on a terminal, a line per change otherwise. */
async function follow(client: CommandClient, started: BackfillRecord, json: boolean): Promise<number> {
  const tty = process.stdout.isTTY === true && !json;
  let b = started;
  let last = '';
  let lastChange = Date.now();
  let hinted = false;
  for (;;) {
    if (!json) {
      const text = tty ? progressBar(b) : progressText(b);
      if (text !== last) {
        if (tty) process.stdout.write(`\r${text}\x1b[K`);
        else console.log(text);
        last = text;
        lastChange = Date.now();
      } else if (!hinted && Date.now() - lastChange > STALL_HINT_MS && backfillProgress(b).running === 0) {
        hinted = true;
        console.error(
          `${tty ? '\n' : ''}${dim('no progress yet: backfill runs are started by the coordinator, which every stint worker (and stint dev) runs')}`,
        );
      }
    }
    if (b.state !== 'running') break;
    await new Promise((r) => setTimeout(r, POLL_MS));
    b = await client.getBackfill(b.id);
  }
  if (tty) process.stdout.write('\n');
  const { failed } = backfillProgress(b);
  if (json) printJson(b);
  else if (b.state === 'cancelled') console.error(`backfill ${b.id} was cancelled (${progressText(b)})`);
  else if (failed > 0)
    console.error(
      `backfill ${b.id} finished with ${failed} failed run${failed === 1 ? '' : 's'}; see: stint schedules runs ${b.scheduleName}`,
    );
  else
    console.log(
      `backfill ${b.id} finished: ${b.created} run${b.created === 1 ? '' : 's'}, ${b.skipped} already ran before`,
    );
  return b.state === 'finished' && failed === 0 ? EXIT.ok : EXIT.failed;
}
