import type { Command } from 'commander';
import type { ScheduleDefinition } from '../../client/schedules.js';
import { ConflictError } from '../../core/errors.js';
import { describeTrigger, nextFireTimes, parseTrigger, triggerTimezone } from '../../schedule/trigger.js';
import type { ScheduleState, TriggerType } from '../../schedule/types.js';
import { EXIT, type GlobalOptions, printJson } from '../context.js';
import { dim, relativeTime, table } from '../format.js';
import { choiceFlag, intFlag, parseLimitFlag, timeFlag, usage } from '../parse.js';
import {
  carryOverTarget,
  definitionFromFlags,
  type ScheduleFlags,
  scheduleOptions,
  triggerFromFlags,
  triggerOptions,
  withFlagNames,
} from '../schedule-flags.js';
import {
  colourScheduleState,
  eventLine,
  RUN_HEADERS,
  runRow,
  runTarget,
  SCHEDULE_HEADERS,
  scheduleDetails,
  scheduleRow,
  when,
  zoned,
} from '../schedule-format.js';
import { type CommandClient, isRegistered, waitForFlow, withClient } from '../with-client.js';
import { waitAndPrint } from './jobs.js';

type Globals = () => GlobalOptions;

const STATES: readonly ScheduleState[] = ['active', 'paused', 'completed'];
const TRIGGERS: readonly TriggerType[] = ['cron', 'interval', 'once', 'datasets', 'continuous'];
const TRIGGER_FLAGS = '--cron EXPR, --every DUR, --once TIME, --datasets a,b or --continuous';

/** Warns (on stderr) when no worker has registered the task yet: its runs would wait. */
async function noteUnknownTask(client: CommandClient, d: Partial<ScheduleDefinition>): Promise<void> {
  if (typeof d.task !== 'string' || (await isRegistered(client, d.task))) return;
  const queue = d.job?.queue ?? 'default';
  console.error(
    dim(
      `note: no worker has registered task ${d.task} yet; its runs wait in queue "${queue}" until one does`,
    ),
  );
}

export function schedulesCommands(program: Command, globals: Globals): void {
  const schedules = program
    .command('schedules')
    .alias('schedule')
    .description('create, list, show, pause, resume, run and delete schedules; preview triggers');

  schedules
    .command('ls')
    .alias('list')
    .description('list schedules by name, with their next fire time')
    .option('--state <state>', `only ${STATES.join(', ')} schedules`)
    .option('--trigger <type>', `only ${TRIGGERS.join(', ')} triggers`)
    .option('--limit <n>', 'schedules per page', '100')
    .option('--cursor <cursor>', 'the next page, as printed by the previous one')
    .action(async (opts: { state?: string; trigger?: string; limit: string; cursor?: string }) => {
      const g = globals();
      const state = choiceFlag('--state', opts.state, STATES);
      const triggerType = choiceFlag('--trigger', opts.trigger, TRIGGERS);
      const limit = parseLimitFlag(opts.limit);
      await withClient(g, async (client) => {
        const page = await client.listSchedules({
          ...(state ? { state } : {}),
          ...(triggerType ? { triggerType } : {}),
          ...(opts.cursor ? { cursor: opts.cursor } : {}),
          limit,
        });
        if (g.json) return printJson(page);
        const now = Date.now();
        if (page.schedules.length === 0)
          console.log(dim('no schedules (create one: stint schedules create <name> --task T --cron EXPR)'));
        else
          console.log(
            table(
              SCHEDULE_HEADERS,
              page.schedules.map((s) => scheduleRow(s, now)),
            ),
          );
        if (page.nextCursor) console.log(dim(`more: stint schedules ls --cursor ${page.nextCursor}`));
      });
    });

  schedules
    .command('show <name>')
    .description('a schedule: trigger, policies, run template, next fire times, recent runs and events')
    .option('--runs <n>', 'recent runs to show', '10')
    .action(async (name: string, opts: { runs: string }) => {
      const g = globals();
      const limit = intFlag('--runs', opts.runs, 1, 1000) as number;
      await withClient(g, async (client) => {
        const schedule = await client.getSchedule(name);
        const [{ runs }, events] = await Promise.all([
          client.scheduleRuns(name, { limit }),
          client.scheduleEvents(name),
        ]);
        if (g.json) return printJson({ ...schedule, runs, events });
        console.log(scheduleDetails(schedule, runs, events.slice(-10)));
        if (events.length > 10)
          console.log(dim(`  (${events.length - 10} earlier: stint schedules events ${name})`));
      });
    });

  scheduleOptions(
    schedules
      .command('create [name]')
      .description(
        'create a schedule that runs a task (or a flow) on a trigger; --file takes a JSON definition',
      ),
    true,
  ).action(async (name: string | undefined, flags: ScheduleFlags) => {
    const g = globals();
    const d = await definitionFromFlags(flags);
    if (name !== undefined) d.name = name;
    if (d.name === undefined)
      usage('<name>', 'is required: stint schedules create <name> ... (or "name" in --file)');
    if (d.trigger === undefined) usage('a trigger', `is required: give ${TRIGGER_FLAGS}`);
    if (d.task === undefined && d.flow === undefined)
      usage(
        '--task or --flow',
        'is required: what each run submits (--task T --input JSON, or --flow spec.json)',
      );
    await withClient(g, async (client) => {
      const created = await withFlagNames(() => client.createSchedule(d as ScheduleDefinition));
      await noteUnknownTask(client, d);
      if (g.json) return printJson(created);
      const next = created.nextFireTimes[0] ?? null;
      console.log(
        `schedule ${created.name} created (${colourScheduleState(created.state)}): ${describeTrigger(created.trigger)}`,
      );
      if (next !== null) console.log(`next fire ${when(next, triggerTimezone(created.trigger))}`);
      if (process.stdout.isTTY) console.log(dim(`see it: stint schedules show ${created.name}`));
    });
  });

  scheduleOptions(
    schedules
      .command('update <name>')
      .description('change a schedule: only the flags given change (a new trigger starts from now)'),
    false,
  ).action(async (name: string, flags: ScheduleFlags) => {
    const g = globals();
    const changes = await definitionFromFlags(flags);
    delete changes.name;
    if (Object.keys(changes).length === 0)
      usage(
        'update',
        `needs something to change, e.g. --cron EXPR, --input JSON, --overlap skip (see --help)`,
      );
    await withClient(g, async (client) => {
      const current = await client.getSchedule(name);
      const full = carryOverTarget(current, changes);
      const updated = await withFlagNames(() => client.updateSchedule(name, full));
      await noteUnknownTask(client, changes);
      if (g.json) return printJson(updated);
      console.log(`schedule ${name} updated: ${describeTrigger(updated.trigger)}`);
      const next = updated.nextFireTimes[0] ?? null;
      if (next !== null && updated.state === 'active')
        console.log(`next fire ${when(next, triggerTimezone(updated.trigger))}`);
    });
  });

  schedules
    .command('pause <name>')
    .description('stop firing until resumed (fire times missed meanwhile follow the misfire policy)')
    .action(async (name: string) => {
      const g = globals();
      await withClient(g, async (client) => {
        const paused = await hint(client.pauseSchedule(name), (m) =>
          /is paused/.test(m)
            ? `resume it: stint schedules resume ${name}`
            : 'it has completed: nothing left to pause',
        );
        if (g.json) return printJson(paused);
        console.log(`schedule ${name}: ${colourScheduleState(paused.state)}`);
      });
    });

  schedules
    .command('resume <name>')
    .description('fire again; missed fire times follow the misfire policy')
    .action(async (name: string) => {
      const g = globals();
      await withClient(g, async (client) => {
        const resumed = await hint(client.resumeSchedule(name), (m) =>
          /is active/.test(m)
            ? 'it is already firing'
            : `it has completed; to run it again, delete it and create it anew`,
        );
        if (g.json) return printJson(resumed);
        const next = resumed.nextFireAt;
        console.log(
          `schedule ${name}: ${colourScheduleState(resumed.state)}${next === null ? '' : `; next fire ${when(next, triggerTimezone(resumed.trigger))}`}`,
        );
      });
    });

  schedules
    .command('rm <name>')
    .alias('delete')
    .description('delete a schedule (its runs, jobs and flows stay)')
    .action(async (name: string) => {
      const g = globals();
      await withClient(g, async (client) => {
        await client.deleteSchedule(name);
        if (g.json) return printJson({ name, deleted: true });
        console.log(`schedule ${name} deleted`);
      });
    });

  schedules
    .command('run <name>')
    .description('run a schedule now (not counted as a fire time); prints the job or flow id')
    .option('--partition <p>', 'the partition to run (dataset schedules need one)')
    .option('-w, --wait', 'wait for the run to end; exit 1 unless it succeeded')
    .option('--wait-timeout <duration>', 'with --wait: give up after this long, e.g. 5m')
    .action(async (name: string, opts: { partition?: string; wait?: boolean; waitTimeout?: string }) => {
      const g = globals();
      process.exitCode = await withClient(g, async (client) => {
        const run = await withFlagNames(
          () =>
            client.runScheduleNow(name, opts.partition === undefined ? {} : { partition: opts.partition }),
          { partition: '--partition' },
        );
        if (!opts.wait) {
          if (g.json) printJson(run);
          else {
            console.log(runTarget(run));
            if (process.stdout.isTTY)
              console.log(
                dim(
                  run.jobId
                    ? `follow it: stint jobs wait ${run.jobId}`
                    : `follow it: stint flows show ${run.flowId}`,
                ),
              );
          }
          return EXIT.ok;
        }
        if (run.jobId) return waitAndPrint(client, run.jobId, opts.waitTimeout, g.json === true);
        return waitForFlow(client, run.flowId as string, opts.waitTimeout, g.json === true);
      });
    });

  triggerOptions(
    schedules
      .command('next')
      .description('preview a trigger: its next fire times (nothing is stored; exit 2 if it is invalid)'),
    false,
  )
    .option('--count <n>', 'how many fire times', '5')
    .option('--after <time>', 'fire times after this ISO 8601 time (default now)')
    .action(async (flags: ScheduleFlags & { count: string; after?: string }) => {
      const g = globals();
      const count = intFlag('--count', flags.count, 1, 1000) as number;
      const after = flags.after === undefined ? Date.now() : Date.parse(timeFlag('--after', flags.after));
      const spec = triggerFromFlags(flags);
      if (spec === undefined) usage('a trigger', 'is required: give --cron EXPR, --every DUR or --once TIME');
      const trigger = await withFlagNames(async () => parseTrigger(spec));
      const times = nextFireTimes(trigger, after, count);
      const tz = triggerTimezone(trigger);
      if (g.json)
        return printJson({
          trigger,
          description: describeTrigger(trigger),
          fireTimes: times.map((t) => new Date(t).toISOString()),
        });
      console.log(dim(describeTrigger(trigger)));
      if (times.length === 0) console.log(dim('no fire time after that'));
      const now = Date.now();
      for (const t of times)
        console.log(`${zoned(t, tz)}  ${dim(new Date(t).toISOString())}  ${dim(relativeTime(t, now))}`);
    });

  schedules
    .command('runs <name>')
    .description("a schedule's runs, newest first, with their job's or flow's state")
    .option('--limit <n>', 'runs per page', '20')
    .option('--cursor <cursor>', 'the next page, as printed by the previous one')
    .action(async (name: string, opts: { limit: string; cursor?: string }) => {
      const g = globals();
      const limit = parseLimitFlag(opts.limit);
      await withClient(g, async (client) => {
        const schedule = await client.getSchedule(name);
        const page = await client.scheduleRuns(name, {
          limit,
          ...(opts.cursor ? { cursor: opts.cursor } : {}),
        });
        if (g.json) return printJson(page);
        if (page.runs.length === 0)
          console.log(dim(`no runs yet (run one now: stint schedules run ${name})`));
        else {
          const tz = triggerTimezone(schedule.trigger);
          console.log(
            table(
              RUN_HEADERS,
              page.runs.map((r) => runRow(r, tz)),
            ),
          );
        }
        if (page.nextCursor)
          console.log(dim(`more: stint schedules runs ${name} --cursor ${page.nextCursor}`));
      });
    });

  schedules
    .command('events <name>')
    .description("a schedule's history: created, updated, paused, resumed, run now, misfires, backfills")
    .action(async (name: string) => {
      const g = globals();
      await withClient(g, async (client) => {
        await client.getSchedule(name);
        const events = await client.scheduleEvents(name);
        if (g.json) return printJson(events);
        for (const e of events) console.log(eventLine(e));
      });
    });
}

/** A conflict (pausing a paused schedule) with what to do instead. */
async function hint<T>(op: Promise<T>, advice: (message: string) => string): Promise<T> {
  try {
    return await op;
  } catch (err) {
    if (err instanceof ConflictError)
      throw new ConflictError(`${err.message} (${advice(err.message)})`, { cause: err });
    throw err;
  }
}
