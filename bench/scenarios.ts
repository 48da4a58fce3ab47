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
  /** The runner kills a run of this scenario after this long. @default 60_000 */
  limitMs?: number;
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
  {
    name: 'flow-latency',
    title: '9. flow step -> next step, 10-step chains',
    load: async () => (await import('./flows.js')).flowLatencySqlite,
  },
  {
    name: 'flow-fanout',
    title: '10. flow map over 10,000 items + fan-in',
    load: async () => (await import('./flows.js')).flowFanoutSqlite,
  },
  {
    name: 'schedules',
    title: '11. 10,000 schedules every 1s, one coordinator process, 60 s',
    load: async () => (await import('./schedules.js')).schedulesSqlite,
    // ~80 s per run (600,000 jobs): once per invocation unless --runs says otherwise.
    runs: 1,
    limitMs: 120_000,
  },
  {
    name: 'schedules-cron',
    title: "12. 10,000 schedules cron '* * * * * *', one coordinator process, 30 s",
    load: async () => (await import('./schedules.js')).schedulesCronSqlite,
    runs: 1,
    limitMs: 120_000,
  },
  {
    name: 'sandbox',
    title: '13. no-op jobs: inline vs process sandbox',
    load: async () => (await import('./sandbox.js')).sandbox,
    limitMs: 120_000,
  },
  {
    name: 'placement',
    title: '14. drain with resource matching off vs on',
    load: async () => (await import('./placement.js')).placementSqlite,
  },
  {
    name: 'http',
    title: '15. HTTP API: single and bulk submits, GET /jobs/:id, one server process',
    load: async () => (await import('./http.js')).httpSqlite,
  },
];

/** `npm run bench -- --store postgres`: stint, graphile-worker and pg-boss on PostgreSQL. */
export const PG_SCENARIOS: readonly ScenarioInfo[] = [
  {
    name: 'pg-bare',
    title: 'P1. bare node-postgres round trips (the floor)',
    load: async () => (await import('./pg-scenarios.js')).pgBare,
  },
  {
    name: 'pg-drain',
    title: 'P2. drain 20,000, one worker process, concurrency 10',
    load: async () => (await import('./pg-scenarios.js')).pgDrain,
    limitMs: 170_000,
  },
  {
    name: 'pg-drain2',
    title: 'P3. drain 20,000, two worker processes, concurrency 10 each',
    load: async () => (await import('./pg-scenarios.js')).pgDrain2,
    limitMs: 170_000,
  },
  {
    name: 'pg-enqueue',
    title: 'P4. bulk and single enqueue',
    load: async () => (await import('./pg-scenarios.js')).pgEnqueue,
    limitMs: 300_000,
  },
  {
    name: 'pg-latency',
    title: 'P5. latency submit -> handler start at ~100 jobs/s',
    load: async () => (await import('./pg-scenarios.js')).pgLatency,
    limitMs: 170_000,
  },
  {
    name: 'flow-latency',
    title: 'P6. flow step -> next step, 10-step chains',
    load: async () => (await import('./flows.js')).flowLatencyPostgres,
  },
  {
    name: 'flow-fanout',
    title: 'P7. flow map over 10,000 items + fan-in',
    load: async () => (await import('./flows.js')).flowFanoutPostgres,
    limitMs: 170_000,
  },
  {
    name: 'recovery',
    title: "P8. a SIGKILLed worker's job runs again on another worker",
    load: async () => (await import('./recovery.js')).pgRecovery,
    runs: 1,
  },
  {
    name: 'schedules',
    title: 'P9. 10,000 schedules every 1s, one coordinator process, 60 s',
    // Creating 10,000 schedules takes ~13 s more than on SQLite.
    load: async () => (await import('./schedules.js')).schedulesPostgres,
    runs: 1,
    limitMs: 150_000,
  },
  {
    name: 'schedules-cron',
    title: "P10. 10,000 schedules cron '* * * * * *', one coordinator process, 30 s",
    load: async () => (await import('./schedules.js')).schedulesCronPostgres,
    runs: 1,
    limitMs: 150_000,
  },
  {
    name: 'placement',
    title: 'P11. drain with resource matching off vs on',
    load: async () => (await import('./placement.js')).placementPostgres,
    limitMs: 120_000,
  },
  {
    name: 'http',
    title: 'P12. HTTP API: single and bulk submits, GET /jobs/:id, one server process',
    load: async () => (await import('./http.js')).httpPostgres,
    limitMs: 90_000,
  },
];

export const scenariosFor = (store: string): readonly ScenarioInfo[] =>
  store === 'postgres' ? PG_SCENARIOS : SCENARIOS;
