/**
 * Shared pieces of the benchmark: the metric type, the no-op task, child processes, deadlines
 * and small statistics. Nothing here reaches beyond loopback or the temp directory it is given.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { defineTask, type Store } from '../src/index.js';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = dirname(BENCH_DIR);

/**
 * Every wait in a scenario gives up after this long, so a hang ends the scenario with its own
 * message; the runner kills a scenario's process outright after 60 s.
 */
export const SCENARIO_DEADLINE_MS = 45_000;

/** 50000 -> "50,000". */
export const count = (n: number) => n.toLocaleString('en-US');

export interface Target {
  op: '>=' | '<=';
  value: number;
}

/** One measured figure of one run. */
export interface Metric {
  key: string;
  label: string;
  value: number;
  unit: 'jobs/s' | 'steps/s' | 'schedules/s' | 'req/s' | 'ms' | 's' | 'MB' | 'x' | 'count';
  target?: Target;
}

export interface ScenarioContext {
  /** A fresh temp directory for this run; the runner removes it afterwards. */
  dir: string;
}

export type ScenarioFn = (ctx: ScenarioContext) => Promise<Metric[]>;

export const quietLogger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * The no-op task. `z.unknown()` is the cheapest schema that accepts every input (no object walk,
 * no copy); `onRun` lets a scenario count handler calls.
 */
export function noopTask(onRun: (jobId: string) => void = () => {}) {
  return defineTask({
    name: 'noop',
    input: z.unknown(),
    run: (ctx) => {
      onRun(ctx.jobId);
      return null;
    },
  });
}

/** How long attempt 1 of the `recovery` task hangs (its worker is killed long before). */
export const HANG_MS = 60_000;

/**
 * The task of scenario `recovery`: announces each start, then attempt 1 hangs (bounded by
 * HANG_MS, or until the worker aborts it) while attempt 2 and later return at once.
 */
export function recoveryTask(onStart: (jobId: string, attempt: number) => void = () => {}) {
  return defineTask({
    name: 'hang',
    input: z.unknown(),
    run: async (ctx) => {
      onStart(ctx.jobId, ctx.attempt);
      if (ctx.attempt >= 2) return 'recovered';
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, HANG_MS);
        ctx.signal.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      });
      return 'hung';
    },
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Rejects when `promise` has not settled after `ms`. */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms}ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Resolves with `performance.now()` when `n` jobs have been committed as finished, as told by
 * the store's `jobs-finished` notifications (published right after each completion commit).
 */
export function whenFinished(store: Store, n: number): { done: Promise<number>; cancel: () => void } {
  let count = 0;
  let resolveDone: (t: number) => void = () => {};
  const done = new Promise<number>((resolve) => {
    resolveDone = resolve;
  });
  const unsubscribe = store.subscribe((note) => {
    if (note.type !== 'jobs-finished') return;
    count += note.ids.length;
    if (count >= n) {
      unsubscribe();
      resolveDone(performance.now());
    }
  });
  return { done, cancel: unsubscribe };
}

/** Counts jobs by state straight from the file, to check a scenario did what it claims. */
export function countByState(path: string, state: string): number {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT count(*) FROM jobs WHERE state = ?').pluck().get(state) as number;
  } finally {
    db.close();
  }
}

/** Submits `n` no-op jobs in calls of `batch`. */
export async function enqueueNoops(
  client: { submitMany(task: string, inputs: readonly unknown[]): Promise<unknown[]> },
  n: number,
  batch = 1000,
): Promise<void> {
  const inputs = Array.from({ length: batch }, () => ({}));
  for (let done = 0; done < n; done += batch) {
    await client.submitMany('noop', done + batch <= n ? inputs : inputs.slice(0, n - done));
  }
}

/** Starts a TypeScript module of this directory as a child process with an IPC channel. */
export function forkTs(file: string, args: string[], extraExecArgv: string[] = []): ChildProcess {
  return fork(join(BENCH_DIR, file), args, {
    cwd: REPO_ROOT,
    execArgv: ['--import', 'tsx', ...extraExecArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

/** The next IPC message from `child` that `accept` returns a value for, within `ms`. */
export function nextMessage<T>(
  child: ChildProcess,
  accept: (message: unknown) => T | undefined,
  ms: number,
  what: string,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (message: unknown) => {
      const value = accept(message);
      if (value === undefined) return;
      cleanup();
      resolve(value);
    };
    const onExit = (code: number | null, signal: string | null) => {
      cleanup();
      reject(new Error(`child exited (code ${code}, signal ${signal}) while waiting for ${what}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${ms}ms waiting for ${what}`));
    }, ms);
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

/** Ends a child we started: politely, then by force after `graceMs`. */
export async function endChild(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.connected) child.disconnect();
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/** The middle value; the mean of the two middle ones for an even count. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export const rate = (jobs: number, ms: number) => (jobs * 1000) / ms;

/** Current wall-clock time in ms with sub-ms resolution, comparable across processes. */
export const wallNow = () => performance.timeOrigin + performance.now();
