/**
 * The child of the process sandbox: runs attempts its worker sends over IPC, one at a time.
 * It imports each task's module (tsx is loaded, so TypeScript modules work), finds the task by
 * name, runs it, and sends back log lines, stdout / stderr, progress and the outcome.
 * It exits when its worker disconnects.
 */
import { pathToFileURL } from 'node:url';
import { serializeError } from '../../core/errors.js';
import { createJobLogger } from '../../task/context.js';
import type { Task } from '../../task/define.js';
import type { ChildMessage, RunMessage } from './protocol.js';

/** The run in progress, whose output lines are forwarded; null between runs. */
let current: number | null = null;
const modules = new Map<string, Promise<Map<string, Task>>>();

function send(message: ChildMessage): void {
  process.send?.(message);
}

// console.log and friends write through these: forward what a run writes, in order with its
// other messages (the pipes still catch native writes and grandchildren).
for (const stream of ['stdout', 'stderr'] as const) {
  const target = process[stream];
  const original = target.write.bind(target) as (...args: unknown[]) => boolean;
  target.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (current === null) return original(chunk, ...rest);
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    send({ t: 'out', n: current, stream, text });
    const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  }) as typeof target.write;
}

function isTask(value: unknown): value is Task {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<Task>;
  return typeof v.name === 'string' && typeof v.run === 'function' && !!v.retry;
}

function load(module: string): Promise<Map<string, Task>> {
  let loaded = modules.get(module);
  if (!loaded) {
    const url = /^[a-z]+:/i.test(module) ? module : pathToFileURL(module).href;
    loaded = import(url).then((mod: Record<string, unknown>) => {
      const tasks = new Map<string, Task>();
      for (const value of Object.values(mod).flatMap((v) => (Array.isArray(v) ? v : [v])))
        if (isTask(value)) tasks.set(value.name, value);
      return tasks;
    });
    modules.set(module, loaded);
  }
  return loaded;
}

async function run(m: RunMessage): Promise<unknown> {
  const task = (await load(m.module)).get(m.task);
  if (!task) {
    throw Object.assign(new Error(`module ${m.module} exports no task named ${m.task}`), {
      retryable: false,
    });
  }
  const ctx = {
    ...m.ctx,
    signal: new AbortController().signal,
    log: createJobLogger((level, message, fields) =>
      send({ t: 'log', n: m.n, level, message: String(message), fields: fields ?? null }),
    ),
    progress: (done: number, total?: number) => send({ t: 'progress', n: m.n, done, total: total ?? null }),
    // The worker renews the lease itself; this process cannot block it.
    heartbeat: async () => {},
    flow: null,
  };
  if (m.role === 'run') return task.run(ctx, m.input as never);
  if (!task.revert) throw Object.assign(new Error(`task ${m.task} defines no revert`), { retryable: false });
  return task.revert(ctx, m.input as never, m.output as never);
}

process.on('message', (m: RunMessage) => {
  if (m?.t !== 'run') return;
  current = m.n;
  run(m)
    .then(
      (output) => {
        current = null;
        send({ t: 'done', n: m.n, ok: true, output: output ?? null });
      },
      (err: unknown) => {
        current = null;
        send({ t: 'done', n: m.n, ok: false, error: serializeError(err) });
      },
    )
    .catch((err: unknown) => {
      // Sending failed (an output IPC cannot carry): report that instead.
      send({ t: 'done', n: m.n, ok: false, error: serializeError(err) });
    });
});

process.on('disconnect', () => process.exit(0));
