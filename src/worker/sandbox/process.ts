import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PermanentError, SandboxError } from '../../core/errors.js';
import type { Logger } from '../../internal/logger.js';
import type { ResolvedSandbox } from '../../task/sandbox.js';
import { killGroup } from './kill.js';
import { lastLines, lineSplitter } from './lines.js';
import { type ChildMessage, type RunMessage, restoreError } from './protocol.js';
import type { Sandbox, SandboxRun } from './types.js';

type ProcessSettings = Extract<ResolvedSandbox, { kind: 'process' }>;

/** Children kept idle per memory limit; more are stopped when their run ends. */
const MAX_IDLE_PER_KEY = 32;

const here = import.meta.url;
const CHILD_ENTRY = fileURLToPath(new URL(here.endsWith('.ts') ? './child.ts' : './child.js', here));
/** tsx's loader, so the child can import TypeScript task modules (and run from source). */
const TSX_LOADER = pathToFileURL(createRequire(here).resolve('tsx')).href;

interface Current {
  n: number;
  run: SandboxRun<ProcessSettings>;
  resolve(output: unknown): void;
  reject(err: Error): void;
}

interface Child {
  proc: ChildProcess;
  key: string;
  jobs: number;
  current: Current | null;
  exited: Promise<void>;
  alive: boolean;
  stderr: ReturnType<typeof lastLines>;
}

/**
 * The process sandbox: a pool of child Node processes (one per memory limit in use), each running
 * one attempt at a time. A child that crashes, is killed on timeout / cancel, or ran
 * `maxJobsPerChild` jobs is replaced; with `reuse: false` each attempt gets a fresh child.
 */
export function createProcessSandbox(logger: Logger): Sandbox<ProcessSettings> {
  const idle = new Map<string, Child[]>();
  const all = new Set<Child>();
  let runs = 0;
  let closed = false;

  function start(settings: ProcessSettings, key: string): Child {
    const execArgv = ['--import', TSX_LOADER];
    if (settings.memoryMb !== null) execArgv.push(`--max-old-space-size=${settings.memoryMb}`);
    const proc = spawn(process.execPath, [...execArgv, CHILD_ENTRY], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // Its own process group: a terminal's Ctrl+C reaches the worker, which then decides.
      detached: true,
      serialization: 'json',
      env: { ...process.env, STINT_SANDBOX_CHILD: '1' },
    });
    let exited: () => void = () => {};
    const child: Child = {
      proc,
      key,
      jobs: 0,
      current: null,
      alive: true,
      exited: new Promise<void>((resolve) => {
        exited = resolve;
      }),
      stderr: lastLines(20),
    };
    const gone = (err: Error) => {
      child.alive = false;
      all.delete(child);
      removeIdle(child);
      const c = child.current;
      child.current = null;
      c?.reject(err);
      exited();
    };
    proc.on('exit', (code, signal) => {
      const c = child.current;
      gone(c ? crashError(c, child, code, signal) : new SandboxError('exited'));
    });
    // Spawning failed (no exit event follows).
    proc.on('error', (err) => {
      if (proc.pid === undefined)
        gone(new SandboxError(`cannot start the process sandbox: ${err.message}`, {}, { cause: err }));
      else logger.warn({ err, pid: proc.pid }, 'stint: process sandbox child error');
    });
    proc.on('message', (m: ChildMessage) => onMessage(child, m));
    for (const stream of ['stdout', 'stderr'] as const) {
      const lines = lineSplitter((line) => {
        if (stream === 'stderr') child.stderr.add(line);
        // Native writes and grandchildren: the run in progress, if any, gets them.
        if (child.current) child.current.run.log(stream, stream === 'stderr' ? 'warn' : 'info', line);
        else if (line)
          logger.debug({ pid: proc.pid, stream, line }, 'stint: process sandbox output between jobs');
      });
      proc[stream]?.on('data', (chunk: Buffer) => lines.push(chunk));
      proc[stream]?.on('end', () => lines.end());
    }
    all.add(child);
    return child;
  }

  function onMessage(child: Child, m: ChildMessage): void {
    const c = child.current;
    if (!c || m.n !== c.n) return;
    if (m.t === 'log') c.run.log('log', m.level, m.message, m.fields);
    else if (m.t === 'out') {
      for (const line of m.text.replace(/\n$/, '').split('\n')) {
        if (m.stream === 'stderr') child.stderr.add(line);
        c.run.log(m.stream, m.stream === 'stderr' ? 'warn' : 'info', line);
      }
    } else if (m.t === 'progress') c.run.progress(m.done, m.total);
    else if (m.t === 'done') {
      child.current = null;
      release(child, c.run.settings);
      if (m.ok) c.resolve(m.output);
      else c.reject(restoreError(m.error));
    }
  }

  function crashError(c: Current, child: Child, code: number | null, signal: string | null): Error {
    const tail = child.stderr.text();
    const oom = /heap out of memory|Reached heap limit/i.test(tail);
    const how = oom
      ? `ran out of memory (heap limit ${c.run.settings.memoryMb ?? 'default'} MiB)`
      : signal
        ? `was killed by ${signal}`
        : `exited with code ${code}`;
    return new SandboxError(
      `the process running job ${c.run.job.id} ${how}${tail ? `; its last stderr lines:\n${tail}` : ''}`,
      { exitCode: code, signal },
    );
  }

  function removeIdle(child: Child): void {
    const list = idle.get(child.key);
    const i = list?.indexOf(child) ?? -1;
    if (list && i >= 0) list.splice(i, 1);
  }

  function stop(child: Child, graceMs: number): void {
    if (!child.alive) return;
    if (child.current === null && child.proc.connected) child.proc.disconnect();
    else killGroup(child.proc, child.exited, graceMs);
  }

  function release(child: Child, settings: ProcessSettings): void {
    const list = idle.get(child.key) ?? [];
    if (
      closed ||
      !settings.reuse ||
      child.jobs >= settings.maxJobsPerChild ||
      list.length >= MAX_IDLE_PER_KEY
    ) {
      stop(child, settings.killGraceMs);
      return;
    }
    list.push(child);
    idle.set(child.key, list);
  }

  return {
    run(r) {
      if (closed) return Promise.reject(new SandboxError('the process sandbox is closed'));
      const module = r.task.module;
      if (!module) {
        return Promise.reject(
          new PermanentError(
            `task ${r.task.name} cannot run in a process sandbox: its definition has no \`module: import.meta.url\``,
          ),
        );
      }
      const key = String(r.settings.memoryMb);
      let child = r.settings.reuse ? idle.get(key)?.pop() : undefined;
      while (child && !child.alive) child = idle.get(key)?.pop();
      child ??= start(r.settings, key);
      const c = child;
      c.jobs++;
      const n = ++runs;
      return new Promise<unknown>((resolve, reject) => {
        const onAbort = () => {
          if (c.current?.n !== n) return;
          c.current = null;
          killGroup(c.proc, c.exited, r.settings.killGraceMs);
          reject(r.signal.reason instanceof Error ? r.signal.reason : new Error(String(r.signal.reason)));
        };
        const done = () => r.signal.removeEventListener('abort', onAbort);
        c.current = {
          n,
          run: r,
          resolve: (v) => {
            done();
            resolve(v);
          },
          reject: (e) => {
            done();
            reject(e);
          },
        };
        r.signal.addEventListener('abort', onAbort, { once: true });
        const message: RunMessage = {
          t: 'run',
          n,
          module,
          task: r.task.name,
          role: r.role,
          input: r.input,
          output: r.output ?? null,
          ctx: {
            jobId: r.job.id,
            attempt: r.job.attempt,
            task: r.job.task,
            queue: r.job.queue,
            metadata: r.job.metadata,
          },
        };
        c.proc.send(message, (err) => {
          const cur = c.current;
          if (!err || cur?.n !== n) return;
          c.current = null;
          killGroup(c.proc, c.exited, 0);
          cur.reject(
            new SandboxError(
              `cannot send job ${r.job.id} to its process: ${err.message}`,
              {},
              { cause: err },
            ),
          );
        });
        if (r.signal.aborted) onAbort();
      });
    },
    async close() {
      closed = true;
      idle.clear();
      const children = [...all];
      for (const child of children) stop(child, 1000);
      await Promise.all(children.map((c) => c.exited));
    },
  };
}
