/**
 * A stint worker in its own process, driven by the parent over IPC:
 *   node --import tsx bench/worker-process.ts <mode> <dbPath> [jobs]
 *
 * - drain:    opens the store, creates a worker (concurrency 50), says `ready`; on `start` starts
 *             it and says `finished` when `jobs` completions are committed (timed by the parent),
 *             then stops and says `stopped`.
 * - latency:  starts an idle worker; each handler call sends `started` with its wall-clock time
 *             (`performance.timeOrigin + performance.now()`); each completion commit sends `finished`.
 * - recovery: creates a worker with default options (only the task list and a quiet logger) for
 *             the `recovery` task and says `loaded`; on `start` starts it and says `ready`. Each
 *             handler call sends `started` with the pid, the attempt and its wall-clock time.
 * - idle:     starts a worker with default options, idles 2 s, sends its memory usage.
 * - baseline: loads nothing of stint, idles 2 s, sends its memory usage (node + tsx alone).
 *
 * It exits when the parent goes away and, whatever happens, after 90 s.
 */
// Nothing is imported statically: the baseline must load neither stint nor its dependencies.
const [mode, path, jobsArg] = process.argv.slice(2);
const IDLE_MS = 2000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

setTimeout(() => process.exit(3), 90_000).unref();
process.on('disconnect', () => process.exit(0));

const send = (message: unknown) => process.send?.(message);
const memory = () => {
  const m = process.memoryUsage();
  return { type: 'memory', rss: m.rss, heapUsed: m.heapUsed, external: m.external };
};

async function main(): Promise<void> {
  if (mode === 'baseline') {
    await sleep(IDLE_MS);
    send(memory());
    return;
  }
  if (!path) throw new Error('usage: worker-process.ts <mode> <dbPath> [jobs]');
  const { createSqliteStore, createWorker } = await import('../src/index.js');
  const { noopTask, quietLogger, recoveryTask, wallNow, whenFinished } = await import('./lib.js');

  if (mode === 'idle') {
    const worker = createWorker({ store: path, tasks: [noopTask()], logger: quietLogger });
    await worker.start();
    await sleep(IDLE_MS);
    send(memory());
    await worker.close();
    return;
  }

  if (mode === 'recovery') {
    const task = recoveryTask((id, attempt) =>
      send({ type: 'started', id, attempt, pid: process.pid, at: wallNow() }),
    );
    const worker = createWorker({ store: path, tasks: [task], logger: quietLogger });
    process.once('message', () => {
      worker.start().then(
        () => send({ type: 'ready' }),
        (err: unknown) => {
          console.error(err);
          process.exit(1);
        },
      );
    });
    send({ type: 'loaded' });
    return; // Killed by the parent, or it exits when the parent disconnects.
  }

  const store = createSqliteStore({ path });
  if (mode === 'drain') {
    const n = Number(jobsArg);
    const worker = createWorker({ store, tasks: [noopTask()], concurrency: 50, logger: quietLogger });
    const finished = whenFinished(store, n);
    process.once('message', () => {
      void worker.start();
    });
    send({ type: 'ready' });
    await finished.done;
    send({ type: 'finished' });
    await worker.stop({ timeout: '5s' });
    await store.close();
    send({ type: 'stopped' });
    return;
  }

  if (mode === 'latency') {
    const task = noopTask((id) => send({ type: 'started', id, at: wallNow() }));
    const worker = createWorker({ store, tasks: [task], concurrency: 10, logger: quietLogger });
    store.subscribe((note) => {
      if (note.type === 'jobs-finished') send({ type: 'finished', ids: note.ids });
    });
    await worker.start();
    send({ type: 'ready' });
    return; // The worker and the IPC channel keep the process alive until the parent disconnects.
  }
  throw new Error(`unknown mode ${mode}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
