import type { SerializedError } from '../core/errors.js';
import type { JobEvent, JobLogEntry, JobRecord } from '../core/job.js';

/** Human output: colours only on a terminal, aligned columns, relative times. */
const tty = process.stdout.isTTY === true && !process.env.NO_COLOR;
const paint = (code: number) => (text: string) => (tty ? `\x1b[${code}m${text}\x1b[0m` : text);
export const dim = paint(2);
export const bold = paint(1);
const red = paint(31);
const green = paint(32);
const yellow = paint(33);
const cyan = paint(36);

export function colourState(state: string): string {
  switch (state) {
    case 'succeeded':
      return green(state);
    case 'failed':
      return red(state);
    case 'running':
      return cyan(state);
    case 'cancelled':
      return dim(state);
    default:
      return yellow(state);
  }
}

/** Flow and step states: the job colours, with red for revert_failed and dim for skipped and reverted. */
export function colourFlowState(state: string): string {
  if (state === 'revert_failed') return red(state);
  if (state === 'skipped' || state === 'reverted') return dim(state);
  return colourState(state);
}

export function errorText(error: SerializedError): string {
  return red(`${error.name}: ${error.message}`);
}

export function relativeTime(ms: number | null, now = Date.now()): string {
  if (ms === null) return '-';
  const diff = ms - now;
  const abs = Math.abs(diff);
  const units: [number, string][] = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'm'],
    [1000, 's'],
  ];
  for (const [size, unit] of units) {
    if (abs >= size)
      return diff < 0 ? `${Math.floor(abs / size)}${unit} ago` : `in ${Math.floor(abs / size)}${unit}`;
  }
  return diff < 0 ? 'just now' : 'now';
}

export function duration(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes to measure width
const visible = (s: string) => s.replace(/\x1b\[\d+m/g, '').length;

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => visible(r[i] ?? ''))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c + ' '.repeat(Math.max(0, (widths[i] ?? 0) - visible(c))))
      .join('  ')
      .trimEnd();
  return [dim(line(headers)), ...rows.map(line)].join('\n');
}

export function jobRow(job: JobRecord): string[] {
  return [
    job.id,
    job.task,
    job.queue,
    colourState(job.state),
    String(job.attempt),
    relativeTime(job.createdAt),
    job.finishedAt && job.startedAt ? duration(job.finishedAt - job.startedAt) : '-',
  ];
}

export const JOB_HEADERS = ['ID', 'TASK', 'QUEUE', 'STATE', 'ATTEMPT', 'CREATED', 'DURATION'];

const json = (v: unknown) => JSON.stringify(v, null, 2);

export function jobDetails(job: JobRecord, events: JobEvent[], logs: JobLogEntry[]): string {
  const out: string[] = [];
  const field = (name: string, value: string) => out.push(`${dim(name.padEnd(12))}${value}`);
  field('job', bold(job.id));
  field('task', job.task);
  field('queue', `${job.queue}  ${dim(`priority ${job.priority}`)}`);
  field(
    'state',
    colourState(job.state) +
      (job.cancelRequested && job.state === 'running' ? yellow(' (cancel requested)') : ''),
  );
  field('attempt', `${job.attempt} of ${job.maxAttempts}`);
  field('created', `${new Date(job.createdAt).toISOString()}  ${dim(relativeTime(job.createdAt))}`);
  if (job.runAt > job.createdAt)
    field('runs at', `${new Date(job.runAt).toISOString()}  ${dim(relativeTime(job.runAt))}`);
  if (job.workerId) field('worker', job.workerId);
  if (job.placement?.resources)
    field(
      'resources',
      Object.entries(job.placement.resources)
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
    );
  if (job.placement?.labels)
    field(
      'labels',
      Object.entries(job.placement.labels)
        .map(([k, v]) => (v === true ? k : `${k}=${v}`))
        .join(','),
    );
  if (job.concurrency)
    field('concurrency', `${job.concurrency.key} (at most ${job.concurrency.limit} at once)`);
  if (job.unplaceable && job.state === 'pending') field('unplaceable', yellow(job.unplaceable));
  if (job.progress)
    field('progress', `${job.progress.done}${job.progress.total === null ? '' : ` / ${job.progress.total}`}`);
  if (job.metadata) field('metadata', JSON.stringify(job.metadata));
  out.push('', bold('input'), json(job.input));
  if (job.state === 'succeeded') out.push('', bold('result'), json(job.output));
  if (job.error) {
    out.push(
      '',
      bold(job.state === 'pending' ? 'last error' : 'error'),
      red(`${job.error.name}: ${job.error.message}`),
    );
    if (job.error.stack) out.push(dim(job.error.stack.split('\n').slice(1).join('\n')));
  }
  out.push('', bold('history'));
  for (const e of events) {
    const who = [e.attempt === null ? '' : `attempt ${e.attempt}`, e.workerId ?? '']
      .filter(Boolean)
      .join(', ');
    const detail = e.detail ? ` ${dim(JSON.stringify(e.detail))}` : '';
    out.push(`  ${new Date(e.at).toISOString()}  ${e.type.padEnd(16)} ${who}${detail}`);
  }
  if (logs.length > 0) {
    out.push('', bold('logs'));
    for (const l of logs) out.push(logLine(l));
  }
  return out.join('\n');
}

export function logLine(l: JobLogEntry): string {
  const level = l.level === 'error' ? red(l.level) : l.level === 'warn' ? yellow(l.level) : dim(l.level);
  const fields = l.fields ? ` ${dim(JSON.stringify(l.fields))}` : '';
  const stream = l.stream && l.stream !== 'log' ? `${dim(l.stream)} ` : '';
  return `  ${dim(new Date(l.at).toISOString())} ${dim(`#${l.attempt}`)} ${level.padEnd(5)} ${stream}${l.message}${fields}`;
}
