import type { Command } from 'commander';
import { parseDuration } from '../../core/duration.js';
import { ValidationError } from '../../core/errors.js';
import { JOB_STATES, type JobLogEntry, type JobState } from '../../core/job.js';
import { EXIT, type GlobalOptions, printJson } from '../context.js';
import { colourState, dim, duration, JOB_HEADERS, jobDetails, jobRow, logLine, table } from '../format.js';
import { bar, everyFew, progressLine } from '../progress.js';
import { type CommandClient, withClient } from '../with-client.js';

type Globals = () => GlobalOptions;

export function jobsCommands(program: Command, globals: Globals): void {
  const jobs = program.command('jobs').description('list, show, cancel, retry and wait for jobs');

  jobs
    .command('ls')
    .description('list jobs, newest first')
    .option('--state <state>', `filter by state (${JOB_STATES.join(', ')}); repeat with commas`)
    .option('--task <name>', 'filter by task')
    .option('--queue <name>', 'filter by queue')
    .option('--since <time>', 'created at or after: an ISO time, or a duration ago (30m, 2h, 7d)')
    .option('--until <time>', 'created before: an ISO time, or a duration ago')
    .option('--search <text>', "text in the job's metadata (case-insensitive)")
    .option('--limit <n>', 'jobs per page', '20')
    .option('--cursor <cursor>', 'the next page, as printed by the previous one')
    .action(async (opts: ListOptions) => {
      const g = globals();
      await withClient(g, async (client) => {
        const state = opts.state?.split(',') as JobState[] | undefined;
        const now = Date.now();
        const page = await client.list({
          ...(state ? { state } : {}),
          ...(opts.task ? { task: opts.task } : {}),
          ...(opts.queue ? { queue: opts.queue } : {}),
          ...(opts.since !== undefined ? { createdAfter: parseWhen(opts.since, '--since', now) } : {}),
          ...(opts.until !== undefined ? { createdBefore: parseWhen(opts.until, '--until', now) } : {}),
          ...(opts.search !== undefined ? { search: opts.search } : {}),
          ...(opts.cursor ? { cursor: opts.cursor } : {}),
          limit: parseLimit(opts.limit),
        });
        if (g.json) return printJson(page);
        if (page.jobs.length === 0) console.log(dim('no jobs'));
        else
          console.log(
            table(
              JOB_HEADERS,
              page.jobs.map((j) => jobRow(j)),
            ),
          );
        if (page.nextCursor) console.log(dim(`more: stint jobs ls --cursor ${page.nextCursor}`));
      });
    });

  jobs
    .command('show <id>')
    .description('a job with its input, result or error, history and logs')
    .action(async (id: string) => {
      const g = globals();
      await withClient(g, async (client) => {
        const job = await client.get(id);
        const [events, logs] = await Promise.all([client.events(id), client.logs(id, { limit: 200 })]);
        if (g.json) return printJson({ ...job, events, logs });
        console.log(jobDetails(job, events, logs));
      });
    });

  jobs
    .command('cancel <id>')
    .description('cancel a pending job, or ask the worker running it to stop')
    .option('--reason <text>', 'recorded with the job', 'cancelled from the CLI')
    .action(async (id: string, opts: { reason: string }) => {
      const g = globals();
      await withClient(g, async (client) => {
        const job = await client.cancel(id, opts.reason);
        if (g.json) return printJson(job);
        console.log(
          job.state === 'running'
            ? `job ${id}: cancel requested; the worker stops it`
            : `job ${id}: ${colourState(job.state)}`,
        );
      });
    });

  jobs
    .command('retry <id>')
    .description('run a failed or cancelled job again')
    .action(async (id: string) => {
      const g = globals();
      await withClient(g, async (client) => {
        const job = await client.retry(id);
        if (g.json) return printJson(job);
        console.log(`job ${id}: ${colourState(job.state)} again`);
      });
    });

  jobs
    .command('wait <id>')
    .description('wait for a job to finish; exits 1 if it failed or was cancelled')
    .option('--timeout <duration>', 'give up after this long, e.g. 30s')
    .action(async (id: string, opts: { timeout?: string }) => {
      const g = globals();
      process.exitCode = await withClient(g, (client) =>
        waitAndPrint(client, id, opts.timeout, g.json === true),
      );
    });
}

export async function waitAndPrint(
  client: CommandClient,
  id: string,
  timeout: string | undefined,
  json: boolean,
): Promise<number> {
  // On a terminal, the job's progress (ctx.progress) or its state and time so far, redrawn meanwhile.
  const line = json ? null : progressLine();
  const redraw = line
    ? everyFew(line, async () => {
        const j = await client.get(id);
        if (j.progress) {
          const { done, total } = j.progress;
          return total === null
            ? `${j.state}: ${done} done`
            : `${bar(done, total)} ${done}/${total} ${j.state}`;
        }
        const since = j.startedAt ?? j.createdAt;
        return `${j.state} for ${duration(Date.now() - since)}`;
      })
    : null;
  try {
    await client
      .job(id)
      .result(timeout ? { timeout } : {})
      .catch((err: unknown) => {
        if ((err as { code?: string }).code === 'WAIT_TIMEOUT') throw err;
      });
  } finally {
    await redraw?.stop();
  }
  const job = await client.get(id);
  if (json) printJson(job);
  else if (job.state === 'succeeded') console.log(JSON.stringify(job.output, null, 2));
  else {
    console.error(`job ${id} ${job.state}: ${job.error?.name}: ${job.error?.message}`);
    console.error(dim(`see: stint jobs show ${id}`));
  }
  return job.state === 'succeeded' ? EXIT.ok : EXIT.failed;
}

interface ListOptions {
  state?: string;
  task?: string;
  queue?: string;
  since?: string;
  until?: string;
  search?: string;
  limit: string;
  cursor?: string;
}

/** `--since 2h` is two hours before `now`; an ISO time is itself. */
function parseWhen(value: string, flag: string, now: number): number {
  if (/^\s*\d+(\.\d+)?\s*(ms|s|m|h|d)\s*$/.test(value)) return now - parseDuration(value, flag);
  const ms = Date.parse(value);
  if (!/^\d{4}-/.test(value.trim()) || !Number.isFinite(ms)) {
    throw new ValidationError(
      `${flag} must be an ISO time such as 2026-11-23T12:00:00Z, or a duration ago such as 30m, 2h or 7d`,
      [{ path: flag, message: `got ${JSON.stringify(value)}` }],
    );
  }
  return ms;
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000) {
    throw new ValidationError('--limit must be an integer from 1 to 1000', [
      { path: 'limit', message: value },
    ]);
  }
  return n;
}

export function logsCommand(program: Command, globals: Globals): void {
  program
    .command('logs <id>')
    .description("a job's log lines, from every attempt")
    .option('-f, --follow', 'keep printing new lines until the job finishes')
    .action(async (id: string, opts: { follow?: boolean }) => {
      const g = globals();
      await withClient(g, async (client) => {
        const print = (l: JobLogEntry) => console.log(g.json ? JSON.stringify(l) : logLine(l));
        if (opts.follow) {
          // Ctrl+C ends the follow cleanly (the client is closed by withClient).
          const stop = new AbortController();
          const onSignal = () => stop.abort();
          process.once('SIGINT', onSignal);
          try {
            for await (const l of client.followLogs(id, { signal: stop.signal })) print(l);
          } finally {
            process.removeListener('SIGINT', onSignal);
          }
          return;
        }
        await client.get(id);
        for (let after = 0; ; ) {
          const lines = await client.logs(id, { afterId: after, limit: 1000 });
          for (const l of lines) print(l);
          after = lines.at(-1)?.id ?? after;
          if (lines.length < 1000) break;
        }
      });
    });
}
