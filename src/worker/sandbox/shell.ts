import { type ChildProcess, spawn } from 'node:child_process';
import { PermanentError, SandboxError } from '../../core/errors.js';
import type { ResolvedSandbox } from '../../task/sandbox.js';
import { killGroup, signalGroup } from './kill.js';
import { lastLines, lineSplitter } from './lines.js';
import { fill, shellQuote, type TemplateScope } from './template.js';
import type { Sandbox } from './types.js';

type ShellSettings = Extract<ResolvedSandbox, { kind: 'shell' }>;

/** stdout lines searched (from the end) for the JSON result. */
const RESULT_LINES = 50;

function lastJson(lines: readonly string[]): unknown {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = (lines[i] as string).trim();
    if (!line) continue;
    try {
      return JSON.parse(line);
    } catch {
      // Not JSON: look further up.
    }
  }
  throw new PermanentError(`the command printed no JSON line in its last ${RESULT_LINES} lines of stdout`);
}

/** The program and arguments to spawn, and the environment, with the job's values filled in. */
export function commandLine(
  s: ShellSettings,
  scope: TemplateScope,
): { file: string; args: string[]; env: NodeJS.ProcessEnv } {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    STINT_JOB_ID: scope.job.id,
    STINT_JOB_ATTEMPT: String(scope.job.attempt),
    STINT_INPUT: JSON.stringify(scope.input ?? null),
  };
  for (const [k, v] of Object.entries(s.env)) env[k] = fill(v, scope);
  if (s.shell)
    return { file: '/bin/sh', args: ['-c', s.command.map((a) => fill(a, scope, shellQuote)).join(' ')], env };
  const [file, ...args] = s.command.map((a) => fill(a, scope));
  return { file: file as string, args, env };
}

/**
 * The shell sandbox: spawns the command in its own process group (never through a shell unless
 * the task says `shell: true`), streams stdout and stderr line by line into the job's logs, and
 * on timeout or cancel sends SIGTERM, then SIGKILL after the grace period, to the whole group.
 */
export function createShellSandbox(): Sandbox<ShellSettings> {
  const running = new Map<ChildProcess, Promise<void>>();
  let closed = false;

  return {
    run(r) {
      if (closed) return Promise.reject(new SandboxError('the shell sandbox is closed'));
      const s = r.settings;
      const { file, args, env } = commandLine(s, {
        input: r.input,
        job: { id: r.job.id, attempt: r.job.attempt, task: r.job.task, queue: r.job.queue },
      });
      return new Promise<unknown>((resolve, reject) => {
        const proc = spawn(file, args, {
          cwd: s.cwd ?? undefined,
          env,
          detached: true,
          shell: false,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let settled = false;
        const settle = (fn: () => void) => {
          if (settled) return;
          settled = true;
          r.signal.removeEventListener('abort', onAbort);
          fn();
        };
        let markExited: () => void = () => {};
        const exited = new Promise<void>((res) => {
          markExited = res;
        });
        running.set(proc, exited);
        const stdoutTail: string[] = [];
        const stderrTail = lastLines(20);
        const out = lineSplitter((line) => {
          stdoutTail.push(line);
          if (stdoutTail.length > RESULT_LINES) stdoutTail.shift();
          r.log('stdout', 'info', line);
        });
        const err = lineSplitter((line) => {
          stderrTail.add(line);
          r.log('stderr', 'warn', line);
        });
        proc.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
        proc.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
        const onAbort = () =>
          settle(() => {
            killGroup(proc, exited, s.killGraceMs);
            reject(r.signal.reason instanceof Error ? r.signal.reason : new Error(String(r.signal.reason)));
          });
        r.signal.addEventListener('abort', onAbort, { once: true });
        proc.on('error', (e) => {
          if (proc.pid !== undefined) return;
          running.delete(proc);
          markExited();
          settle(() => reject(new SandboxError(`cannot run ${file}: ${e.message}`, {}, { cause: e })));
        });
        // The leader exited: what it left running in its group goes too (its pipes then close).
        proc.on('exit', () => signalGroup(proc, 'SIGKILL'));
        proc.on('close', (code, signal) => {
          running.delete(proc);
          markExited();
          out.end();
          err.end();
          settle(() => {
            if (code === 0) {
              try {
                resolve(s.result === 'last-json-line' ? lastJson(stdoutTail) : null);
              } catch (e) {
                reject(e);
              }
              return;
            }
            const tail = stderrTail.text();
            const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
            reject(
              new SandboxError(`${file} ${how}${tail ? `; its last stderr lines:\n${tail}` : ''}`, {
                exitCode: code,
                signal,
              }),
            );
          });
        });
        if (r.signal.aborted) onAbort();
      });
    },
    async close() {
      closed = true;
      const all = [...running];
      for (const [proc, exited] of all) killGroup(proc, exited, 1000);
      await Promise.all(all.map(([, exited]) => exited));
    },
  };
}
