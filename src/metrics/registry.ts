import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { MetricsSnapshot } from '../store/auth-types.js';
import type { JobObserver } from './observer.js';

/** Seconds, from a fast inline job to an hour-long one. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
/** Seconds from submission to start: claims take milliseconds, backlogs and delays take longer. */
const WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600];

/** A Prometheus registry of its own (never the global default), so two servers in one process each have theirs. */
export interface Metrics {
  readonly registry: Registry;
  /** Feeds the job counters and histograms; give it to workers in the same process. */
  readonly observer: JobObserver;
  /** Sets the gauges read from the store at a scrape. */
  refresh(snapshot: MetricsSnapshot): void;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  const registers = [registry];
  const jobLabels = ['task', 'queue'] as const;
  const submitted = new Counter({
    name: 'stint_jobs_submitted_total',
    help: 'Jobs created through this process (deduplicated submissions not counted)',
    labelNames: jobLabels,
    registers,
  });
  const started = new Counter({
    name: 'stint_jobs_started_total',
    help: 'Attempts started by workers in this process',
    labelNames: jobLabels,
    registers,
  });
  const completed = new Counter({
    name: 'stint_jobs_completed_total',
    help: 'Attempts that succeeded, in this process',
    labelNames: jobLabels,
    registers,
  });
  const failed = new Counter({
    name: 'stint_jobs_failed_total',
    help: 'Attempts that failed, in this process; will_retry="true" when another attempt follows',
    labelNames: [...jobLabels, 'will_retry'],
    registers,
  });
  const duration = new Histogram({
    name: 'stint_job_duration_seconds',
    help: 'How long attempts ran, by outcome (succeeded, failed, retrying, cancelled, released)',
    labelNames: [...jobLabels, 'outcome'],
    buckets: DURATION_BUCKETS,
    registers,
  });
  const wait = new Histogram({
    name: 'stint_job_wait_seconds',
    help: 'From submission to the start of an attempt (a requested delay included)',
    labelNames: jobLabels,
    buckets: WAIT_BUCKETS,
    registers,
  });
  const depth = new Gauge({
    name: 'stint_queue_depth',
    help: 'Unfinished jobs per queue and state (pending includes delayed jobs), from the store',
    labelNames: ['queue', 'state'],
    registers,
  });
  const workers = new Gauge({
    name: 'stint_workers',
    help: 'Registered workers per state (active, stopped, gone), from the store',
    labelNames: ['state'],
    registers,
  });
  const leader = new Gauge({
    name: 'stint_coordinator_leader',
    help: 'The holder of the coordinator lease (value 1) while it is live, from the store',
    labelNames: ['holder'],
    registers,
  });
  const elected = new Gauge({
    name: 'stint_coordinator_elected',
    help: '1 while some process holds a live coordinator lease, else 0',
    registers,
  });
  const lag = new Gauge({
    name: 'stint_schedule_fire_lag_seconds',
    help: 'How far the coordinator is behind: now minus the oldest due wake of an active schedule (0 when none is due)',
    registers,
  });

  const observer: JobObserver = {
    submitted(task, queue, n) {
      submitted.inc({ task, queue }, n);
    },
    started({ task, queue }, waitMs) {
      started.inc({ task, queue });
      wait.observe({ task, queue }, Math.max(0, waitMs) / 1000);
    },
    finished({ task, queue }, outcome, durationMs) {
      if (outcome === 'succeeded') completed.inc({ task, queue });
      else if (outcome === 'failed' || outcome === 'retrying')
        failed.inc({ task, queue, will_retry: String(outcome === 'retrying') });
      duration.observe({ task, queue, outcome }, Math.max(0, durationMs) / 1000);
    },
  };

  return {
    registry,
    observer,
    refresh(snapshot) {
      depth.reset();
      for (const d of snapshot.depth) depth.set({ queue: d.queue, state: d.state }, d.count);
      // Both states are always there, so a drained queue shows 0 rather than vanishing.
      for (const queue of new Set(snapshot.depth.map((d) => d.queue)))
        for (const state of ['pending', 'running'])
          if (!snapshot.depth.some((d) => d.queue === queue && d.state === state))
            depth.set({ queue, state }, 0);
      workers.reset();
      for (const state of ['active', 'stopped', 'gone']) workers.set({ state }, 0);
      for (const w of snapshot.workers) workers.set({ state: w.state }, w.count);
      leader.reset();
      if (snapshot.coordinator) leader.set({ holder: snapshot.coordinator.holder }, 1);
      elected.set(snapshot.coordinator ? 1 : 0);
      lag.set(
        snapshot.oldestDueWake === null ? 0 : Math.max(0, snapshot.now - snapshot.oldestDueWake) / 1000,
      );
    },
  };
}
