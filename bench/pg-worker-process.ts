/**
 * A worker of one PostgreSQL system in its own process, driven by the parent over IPC:
 *   node --import tsx bench/pg-worker-process.ts <system> <schema> <mode> <concurrency> <batchSize>
 *
 * It says `ready` once its modules are loaded; on `start` it starts the worker and says `running`.
 * - drain:   sends `{ type: 'first', at, cpuMs }` (wall clock, CPU used so far) at its first handler call and
 *            `{ type: 'progress', n }` after every 500 (the parent then checks the table for the
 *            commit of the last completion).
 * - latency: each handler call sends `{ type: 'started', latency }`: its wall clock minus the
 *            submit time the parent put in the job's input (`{ t }`), same clock, sub-ms.
 * On `stop` it stops the worker and says `stopped` with the CPU time the process used. It exits when the parent goes away and,
 * whatever happens, after 170 s.
 */
import { type SystemName, startWorker } from './pg-systems.js';

const [system, schema, mode, concurrencyArg, batchArg] = process.argv.slice(2) as [
  SystemName,
  string,
  'drain' | 'latency',
  string,
  string,
];

setTimeout(() => process.exit(3), 170_000).unref();
process.on('disconnect', () => process.exit(0));
const send = (message: unknown) => process.send?.(message);
const wallNow = () => performance.timeOrigin + performance.now();
const cpuMs = () => {
  const cpu = process.cpuUsage();
  return (cpu.user + cpu.system) / 1000;
};

let handled = 0;
const onRun =
  mode === 'drain'
    ? () => {
        if (++handled === 1) send({ type: 'first', at: wallNow(), cpuMs: cpuMs() });
        if (handled % 500 === 0) send({ type: 'progress', n: 500 });
      }
    : (input: unknown) => {
        const t = (input as { t?: number } | null)?.t ?? Number.NaN;
        send({ type: 'started', latency: wallNow() - t });
      };

async function main(): Promise<void> {
  let worker: Awaited<ReturnType<typeof startWorker>> | undefined;
  process.on('message', (m: { type?: string }) => {
    if (m.type === 'start') {
      startWorker(
        system,
        schema,
        { concurrency: Number(concurrencyArg), batchSize: Number(batchArg), listen: mode === 'latency' },
        onRun,
      ).then(
        (w) => {
          worker = w;
          send({ type: 'running' });
        },
        (err: unknown) => {
          console.error(err);
          process.exit(1);
        },
      );
    } else if (m.type === 'stop') {
      void (async () => {
        await worker?.stop().catch((err: unknown) => console.error(err));
        send({ type: 'stopped', handled, cpuMs: cpuMs() });
      })();
    }
  });
  send({ type: 'ready' });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
