/**
 * Tasks the browser tests and screenshots run: a job that logs slowly (live logs, cancel), a
 * report task with a small input schema (the schedule form), and a flow whose last step fails so
 * the earlier, revertible steps are reverted (the flow graph).
 */
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { createFlow, defineTask, PermanentError } from '../../src/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A permanent error whose stack names files relative to the package (screenshots show stacks). */
function failure(message: string): PermanentError {
  const err = new PermanentError(message);
  if (err.stack) err.stack = err.stack.split(ROOT).join('');
  return err;
}

/** Waits `ms`, or rejects with the signal's reason when the job is cancelled. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Logs `tick <n> of <lines>` every `everyMs` and reports progress; honours cancel. */
export const ticker = defineTask({
  name: 'ticker',
  input: z.object({
    lines: z.number().int().positive().max(10_000).default(60),
    everyMs: z.number().int().positive().max(60_000).default(300),
  }),
  timeout: '10m',
  run: async (ctx, { lines, everyMs }) => {
    for (let n = 1; n <= lines; n++) {
      await pause(everyMs, ctx.signal);
      ctx.log.info(`tick ${n} of ${lines}`, { n });
      ctx.progress(n, lines);
    }
    return { ticks: lines };
  },
});

/** Builds a pretend report; `rows` < 0 fails it permanently (a failed job with a stack). */
export const report = defineTask({
  name: 'report',
  input: z.object({
    date: z.string(),
    source: z.string().default('warehouse'),
    rows: z.number().default(42),
  }),
  retry: { maxAttempts: 2, backoff: '50ms' },
  run: (ctx, { date, source, rows }) => {
    ctx.log.info(`building the ${source} report for ${date}`);
    if (rows < 0) throw failure(`the ${source} export for ${date} has ${rows} rows`);
    ctx.log.info(`wrote ${rows} rows`, { rows });
    return { date, rows };
  },
});

export const createNetwork = defineTask({
  name: 'createNetwork',
  input: z.object({ cidr: z.string() }),
  output: z.object({ id: z.string() }),
  run: (ctx, { cidr }) => {
    ctx.log.info(`created network for ${cidr}`);
    return { id: `net-${cidr.split('/')[0]}` };
  },
  revert: (ctx, _input, output) => {
    ctx.log.info(`deleted network ${output.id}`);
  },
});

export const allocateIp = defineTask({
  name: 'allocateIp',
  input: z.object({ networkId: z.string() }),
  output: z.object({ ip: z.string() }),
  run: (_ctx, { networkId }) => ({ ip: `10.0.0.7 in ${networkId}` }),
  revert: (ctx, _input, output) => {
    ctx.log.info(`released ${output.ip}`);
  },
});

export const attachDisk = defineTask({
  name: 'attachDisk',
  input: z.object({ sizeGb: z.number() }),
  output: z.object({ diskId: z.string() }),
  run: (_ctx, { sizeGb }) => ({ diskId: `disk-${sizeGb}` }),
  revert: (ctx, _input, output) => {
    ctx.log.info(`detached ${output.diskId}`);
  },
});

export const bootVm = defineTask({
  name: 'bootVm',
  input: z.object({ ip: z.string(), diskId: z.string(), image: z.string() }),
  output: z.object({ vmId: z.string() }),
  run: (ctx, { image }) => {
    ctx.log.info(`booting ${image}`);
    if (image === 'broken') throw failure(`the image ${image} does not boot`);
    return { vmId: 'vm-7' };
  },
});

/** createNetwork → allocateIp, attachDisk in parallel → bootVm; a `broken` image fails bootVm. */
export function createVirtualMachine() {
  const f = createFlow<{ cidr: string; image: string; diskGb: number }>('CreateVirtualMachine');
  const net = f.step(createNetwork, { cidr: f.store.cidr });
  const ip = f.step(allocateIp, { networkId: net.output.id });
  const disk = f.step(attachDisk, { sizeGb: f.store.diskGb });
  f.step(bootVm, { ip: ip.output.ip, diskId: disk.output.diskId, image: f.store.image });
  return f;
}

export const uiTasks = [ticker, report, createNetwork, allocateIp, attachDisk, bootVm];
