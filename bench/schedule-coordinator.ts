/**
 * The coordinator of the schedule scenarios, alone in its own process (so its RSS is its own):
 *   node --import tsx bench/schedule-coordinator.ts sqlite <dbPath>
 *   node --import tsx bench/schedule-coordinator.ts postgres <schema>
 *
 * It opens its own store, starts `createCoordinator` on it (no worker: the fired jobs accumulate)
 * and says `ready`. The parent then moves every schedule's first fire time to `t0` and sends
 * `{ type: 'go', t0, seconds, schedules }`. The coordinator keeps firing until every schedule has
 * a run for the last fire time of the window (`t0 + (seconds - 1) s`), or until 10 s after the
 * window, then sends `done` with what it saw (then stops, and sends `stopped`):
 * - RSS sampled every 100 ms (`process.memoryUsage().rss`): the peak from `go` to the stop, and
 *   the value just before `go` (store open, coordinator idle);
 * - the CPU time it used over the window;
 * - every store call timed (count and total ms per method); each `dueSchedules` read; each
 *   `fireSchedules` call (a read is fired in calls of ~500 runs, two may be in flight) with its
 *   runs and the gap before it (planning and rendering, in src/schedule/*); and the time spent
 *   reading, planning and firing, overlaps counted once;
 * - per created run of the window, `fireSchedules` returned (committed) minus the fire time, as
 *   a histogram by ms: when the jobs became visible to workers.
 *
 * It runs with --expose-gc, for one full collection after the stop (the heap then is what stayed
 * reachable). It exits when the parent goes away and, whatever happens, 110 s after it started.
 */

import type { Store } from '../src/index.js';
import { createCoordinator, createPostgresStore, createSqliteStore } from '../src/index.js';
import type { ScheduleFire } from '../src/schedule/types.js';

const [kind, where] = process.argv.slice(2);
/** The scenario's process is killed by the runner at 120 s; this one goes before. */
const LIFETIME_MS = 110_000;
/** After the window, how long to wait for the last fire time's runs before giving up. */
const FINISH_GRACE_MS = 10_000;
const RSS_SAMPLE_MS = 100;

setTimeout(() => process.exit(3), LIFETIME_MS).unref();
process.on('disconnect', () => process.exit(0));
const send = (message: unknown) => process.send?.(message);

/** One `dueSchedules` call. */
interface DueRead {
  /** Schedules read. */
  due: number;
  dueMs: number;
}

/** One `fireSchedules` call (up to two are in flight at once; a read is fired in calls of ~500 runs). */
interface FireCall {
  /** Runs in the call. */
  runs: number;
  /**
   * Plan + render: from the coordinator's last step before this call (the read returning, the
   * previous call being made, or a call returning) to this call.
   */
  planMs: number;
  fireMs: number;
  created: number;
}

interface Go {
  type: 'go';
  t0: number;
  seconds: number;
  schedules: number;
}

async function main(): Promise<void> {
  if ((kind !== 'sqlite' && kind !== 'postgres') || !where)
    throw new Error('usage: schedule-coordinator.ts sqlite <dbPath> | postgres <schema>');
  const { PG_URL } = kind === 'postgres' ? await import('./pg-systems.js') : { PG_URL: '' };
  const raw: Store =
    kind === 'sqlite'
      ? createSqliteStore({ path: where })
      : createPostgresStore({ connectionString: PG_URL, schema: where });

  let rssPeak = 0;
  /** process.memoryUsage() when RSS peaked: heap or native memory? */
  let atPeak: NodeJS.MemoryUsage | null = null;
  let measuring = false;
  const sample = () => {
    const m = process.memoryUsage();
    if (m.rss > rssPeak) {
      rssPeak = m.rss;
      atPeak = m;
    }
  };
  const sampler = setInterval(() => {
    if (measuring) sample();
  }, RSS_SAMPLE_MS);

  // Filled in by `go`.
  let window = { first: 0, last: 0, schedules: 0 };
  let lastCreated = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });

  const calls = new Map<string, { n: number; ms: number }>();
  const reads: DueRead[] = [];
  const fireCalls: FireCall[] = [];
  /** When the firing loop last did something the next call waits behind (performance.now()). */
  let lastStep = 0;
  /** Time spent in reads, planning and calls, overlaps counted once (ms). */
  const busy: [number, number][] = [];
  /** Committed (fireSchedules returned) minus fire time, ms -> runs. */
  const commitLag = new Map<number, number>();
  let createdInWindow = 0;
  /** Every run created while measuring, window or not (CPU per run). */
  let createdAll = 0;

  const note = (name: string, ms: number) => {
    const c = calls.get(name);
    if (c) {
      c.n += 1;
      c.ms += ms;
    } else calls.set(name, { n: 1, ms });
  };

  // Every store method timed; the two the firing loop is made of also per call.
  const store = new Proxy(raw, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      const fn = value as (...args: unknown[]) => unknown;
      return (...args: unknown[]) => {
        const t = performance.now();
        const planStart = lastStep;
        if (prop === 'fireSchedules') lastStep = t;
        const out = fn.apply(target, args);
        if (!(out instanceof Promise)) return out;
        return out.then((result: unknown) => {
          const end = performance.now();
          note(prop, end - t);
          if (measuring && prop === 'dueSchedules') {
            reads.push({ due: (result as unknown[]).length, dueMs: end - t });
            busy.push([t, end]);
            lastStep = end;
          } else if (measuring && prop === 'fireSchedules') {
            onFired(
              args[0] as ScheduleFire[],
              result as Awaited<ReturnType<Store['fireSchedules']>>,
              planStart,
              t,
              end,
            );
            lastStep = Math.max(lastStep, end);
          }
          return result;
        });
      };
    },
  });

  function onFired(
    fires: ScheduleFire[],
    results: Awaited<ReturnType<Store['fireSchedules']>>,
    planStart: number,
    calledAt: number,
    end: number,
  ): void {
    const committed = performance.timeOrigin + end;
    let created = 0;
    for (const r of results) {
      for (const run of r.runs) {
        if (!run.created) continue;
        created += 1;
        const fireTime = run.key.startsWith('t:') ? Number(run.key.slice(2)) : Number.NaN;
        if (!(fireTime >= window.first && fireTime <= window.last)) continue;
        createdInWindow += 1;
        const lag = Math.round(committed - fireTime);
        commitLag.set(lag, (commitLag.get(lag) ?? 0) + 1);
        if (fireTime === window.last && ++lastCreated >= window.schedules) finish();
      }
    }
    createdAll += created;
    const runs = fires.reduce((n, f) => n + f.runs.length, 0);
    const planMs = planStart > 0 ? Math.max(0, calledAt - planStart) : 0;
    fireCalls.push({ runs, planMs, fireMs: end - calledAt, created });
    busy.push([calledAt - planMs, end]);
  }

  /** Length of the union of the busy intervals. */
  const busyMs = () => {
    let total = 0;
    let reach = Number.NEGATIVE_INFINITY;
    for (const [a, b] of busy.sort((x, y) => x[0] - y[0])) {
      if (b <= reach) continue;
      total += b - Math.max(a, reach);
      reach = b;
    }
    return total;
  };

  let errors = 0;
  const report = (level: string) => (obj: unknown, msg?: string) => {
    errors += 1;
    if (errors <= 5) console.error(`coordinator ${level}: ${msg ?? ''} ${JSON.stringify(obj)}`);
  };
  const logger = { debug() {}, info() {}, warn: report('warn'), error: report('error') };

  await raw.now(); // opens (and, first, migrates) the store before the coordinator starts
  const coordinator = createCoordinator(store, { logger });
  coordinator.start();

  const go = await new Promise<Go>((resolve) => {
    process.on('message', (m: { type?: string }) => {
      if (m.type === 'go') resolve(m as Go);
    });
    send({ type: 'ready' });
  });
  const idleRss = process.memoryUsage().rss;
  window = { first: go.t0, last: go.t0 + (go.seconds - 1) * 1000, schedules: go.schedules };
  measuring = true;
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();

  const giveUp = window.last + 1000 + FINISH_GRACE_MS - Date.now();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    finished.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), giveUp);
    }),
  ]);
  clearTimeout(timer);
  sample();
  measuring = false;
  const stoppedAt = Date.now();
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - wall0;
  // Reported before the coordinator stops: a stop waits for the round in progress (up to 20
  // batches when it is behind), and the parent kills this process once it has the figures.
  send({
    type: 'done',
    timedOut,
    stoppedAt,
    idleRss,
    rssPeak,
    atPeak,
    cpuMs: (cpu.user + cpu.system) / 1000,
    wallMs,
    createdInWindow,
    createdAll,
    errors,
    calls: Object.fromEntries(calls),
    reads,
    fireCalls,
    busyMs: busyMs(),
    commitLag: [...commitLag.entries()],
  });
  await coordinator.stop();
  clearInterval(sampler);
  await raw.close();
  // Forked with --expose-gc: what stays reachable once the firing is over (a leak check).
  (globalThis as { gc?: () => void }).gc?.();
  send({ type: 'stopped', heapUsed: process.memoryUsage().heapUsed });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
