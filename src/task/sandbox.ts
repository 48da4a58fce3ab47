import { type Duration, parseDuration } from '../core/duration.js';
import { ValidationError } from '../core/errors.js';
import type { SandboxOverride } from '../core/job.js';

/**
 * Where a job's code runs:
 * - `inline`: in the worker's own process (the default; fastest).
 * - `process`: in a child Node process, so a crash, a busy loop or running out of memory cannot
 *   take the worker down; timeout and cancel kill the child.
 * - `shell`: a command line, with the job's input filled into its arguments and environment.
 */
export type SandboxKind = 'inline' | 'process' | 'shell';

export interface ProcessSandboxOptions {
  kind: 'process';
  /** The child's heap limit (`--max-old-space-size`), in MiB. @default Node's default */
  memoryMb?: number;
  /**
   * Run several jobs, one after another, in the same child (recycled after `maxJobsPerChild`, and
   * whenever a job is killed). `false` starts a fresh child for every job: full isolation of
   * module state, at the cost of a Node start per job (see docs/sandboxes.md for the figures).
   * @default true
   */
  reuse?: boolean;
  /** With `reuse`, how many jobs a child runs before it is replaced. @default 1000 */
  maxJobsPerChild?: number;
  /** After SIGTERM on timeout or cancel, how long before SIGKILL. @default '2s' */
  killGrace?: Duration;
}

export interface ShellSandboxOptions {
  kind: 'shell';
  /**
   * The program and its arguments. `{{input.path}}` (a field of the input), `{{input}}` (all of
   * it as JSON), `{{job.id}}`, `{{job.attempt}}` are filled into each argument separately:
   * a value is always exactly one argument, whatever it contains.
   */
  command: readonly string[];
  /** Added to the worker's environment; values are filled like arguments. */
  env?: Record<string, string>;
  /** The working directory. @default the worker's */
  cwd?: string;
  /**
   * Run `command` joined into one line through `/bin/sh -c`. Values filled in are single-quoted
   * for the shell. Only for commands that need pipes or globs. @default false
   */
  shell?: boolean;
  /** `last-json-line`: the last stdout line that parses as JSON is the job's output. @default 'none' */
  result?: 'none' | 'last-json-line';
  /** After SIGTERM on timeout or cancel, how long before SIGKILL. @default '2s' */
  killGrace?: Duration;
}

export type SandboxOptions =
  | 'inline'
  | 'process'
  | { kind: 'inline' }
  | ProcessSandboxOptions
  | ShellSandboxOptions;

export type ResolvedSandbox =
  | { kind: 'inline' }
  | { kind: 'process'; memoryMb: number | null; reuse: boolean; maxJobsPerChild: number; killGraceMs: number }
  | {
      kind: 'shell';
      command: readonly string[];
      env: Record<string, string>;
      cwd: string | null;
      shell: boolean;
      result: 'none' | 'last-json-line';
      killGraceMs: number;
    };

/**
 * What one submission may change of its task's sandbox (stored with the job): run an inline task
 * in a process or the other way round, or give it another memory limit. A shell task stays a
 * shell task. The timeout is the ordinary `timeout` submit option.
 */
export type { SandboxOverride };

const DEFAULT_GRACE_MS = 2000;

function fail(path: string, message: string): never {
  throw new ValidationError(`${path}: ${message}`, [{ path, message }]);
}

function checkMemory(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 16 || value > 1_048_576)
    fail(path, `must be an integer number of MiB between 16 and 1048576 (got ${String(value)})`);
  return value;
}

export function resolveSandbox(options: SandboxOptions | undefined, path = 'sandbox'): ResolvedSandbox {
  const o = typeof options === 'string' ? { kind: options } : (options ?? { kind: 'inline' as const });
  const grace = (g: Duration | undefined) =>
    g === undefined ? DEFAULT_GRACE_MS : parseDuration(g, `${path}.killGrace`);
  switch (o.kind) {
    case 'inline':
      return { kind: 'inline' };
    case 'process': {
      const p = o as ProcessSandboxOptions;
      const maxJobs = p.maxJobsPerChild ?? 1000;
      if (!Number.isInteger(maxJobs) || maxJobs < 1)
        fail(`${path}.maxJobsPerChild`, 'must be a positive integer');
      return {
        kind: 'process',
        memoryMb: p.memoryMb === undefined ? null : checkMemory(p.memoryMb, `${path}.memoryMb`),
        reuse: p.reuse ?? true,
        maxJobsPerChild: maxJobs,
        killGraceMs: grace(p.killGrace),
      };
    }
    case 'shell': {
      const s = o as ShellSandboxOptions;
      if (
        !Array.isArray(s.command) ||
        s.command.length === 0 ||
        !s.command.every((a) => typeof a === 'string')
      )
        fail(`${path}.command`, 'must be a non-empty array of strings (the program, then its arguments)');
      for (const [k, v] of Object.entries(s.env ?? {}))
        if (typeof v !== 'string') fail(`${path}.env.${k}`, 'must be a string');
      if (s.result !== undefined && s.result !== 'none' && s.result !== 'last-json-line')
        fail(`${path}.result`, "must be 'none' or 'last-json-line'");
      return {
        kind: 'shell',
        command: [...s.command],
        env: { ...s.env },
        cwd: s.cwd ?? null,
        shell: s.shell ?? false,
        result: s.result ?? 'none',
        killGraceMs: grace(s.killGrace),
      };
    }
    default:
      return fail(
        `${path}.kind`,
        `must be inline, process or shell (got ${JSON.stringify((o as { kind: unknown }).kind)})`,
      );
  }
}

/** Checks a submission's override; returns it in the shape stored with the job, or null for none. */
export function checkSandboxOverride(value: unknown, path = 'options.sandbox'): SandboxOverride | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') value = { kind: value };
  if (typeof value !== 'object' || Array.isArray(value)) fail(path, 'must be an object { kind?, memoryMb? }');
  const out: SandboxOverride = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (key === 'kind') {
      if (v !== 'inline' && v !== 'process')
        fail(`${path}.kind`, `a submission may choose inline or process (got ${JSON.stringify(v)})`);
      out.kind = v;
    } else if (key === 'memoryMb') out.memoryMb = checkMemory(v, `${path}.memoryMb`);
    else fail(`${path}.${key}`, 'unknown field (known: kind, memoryMb)');
  }
  return Object.keys(out).length === 0 ? null : out;
}

/**
 * A job's sandbox: its task's, changed by the submission's override. A shell task cannot become
 * inline or process (it has no code to run), nor the other way round: that is a `ValidationError`.
 */
export function sandboxForJob(task: ResolvedSandbox, override: SandboxOverride | null): ResolvedSandbox {
  if (!override) return task;
  if (task.kind === 'shell') {
    if (override.kind !== undefined)
      fail('sandbox.kind', `a shell task always runs its command (cannot run it ${override.kind})`);
    return task;
  }
  const kind = override.kind ?? task.kind;
  if (kind === 'inline') return { kind: 'inline' };
  const base =
    task.kind === 'process'
      ? task
      : {
          kind: 'process' as const,
          memoryMb: null,
          reuse: true,
          maxJobsPerChild: 1000,
          killGraceMs: DEFAULT_GRACE_MS,
        };
  return { ...base, memoryMb: override.memoryMb ?? base.memoryMb };
}
