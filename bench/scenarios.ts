/**
 * The scenarios, in the order the runner runs them. Each is loaded only in the child process
 * that runs it (see scenario-child.ts), so one scenario's heap or hang cannot touch another.
 */
import type { ScenarioFn } from './lib.js';

export interface ScenarioInfo {
  name: string;
  title: string;
  load: () => Promise<ScenarioFn>;
  /** Runs per invocation unless `--runs` is given. @default 3 */
  runs?: number;
}

export const SCENARIOS: readonly ScenarioInfo[] = [
  {
    name: 'bare',
    title: '1. bare better-sqlite3 loop (ceiling)',
    load: async () => (await import('./bare.js')).bare,
  },
  {
    name: 'drain',
    title: '2. stint drain, worker in the same process',
    load: async () => (await import('./drain.js')).drain,
  },
  {
    name: 'drain-cross',
    title: '3. stint drain, worker in another process',
    load: async () => (await import('./drain-cross.js')).drainCross,
  },
  {
    name: 'enqueue',
    title: '4. stint enqueue',
    load: async () => (await import('./enqueue.js')).enqueue,
  },
  {
    name: 'latency',
    title: '5. latency submit -> handler start, idle worker',
    load: async () => (await import('./latency.js')).latency,
  },
  {
    name: 'responsiveness',
    title: '6. event loop during a 50,000-job drain',
    load: async () => (await import('./responsiveness.js')).responsiveness,
  },
  {
    name: 'rss',
    title: '7. idle worker RSS',
    load: async () => (await import('./rss.js')).rss,
  },
  {
    name: 'recovery',
    title: "8. a SIGKILLed worker's job runs again on another worker",
    load: async () => (await import('./recovery.js')).recovery,
    // Each run waits out a 10 s lease: once per invocation unless --runs says otherwise.
    runs: 1,
  },
];
