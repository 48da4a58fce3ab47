import type { ChildProcess } from 'node:child_process';

/** Sends `signal` to the child's whole process group (it was spawned detached); false when it is gone. */
export function signalGroup(proc: ChildProcess, signal: NodeJS.Signals): boolean {
  if (proc.pid === undefined) return false;
  try {
    process.kill(-proc.pid, signal);
    return true;
  } catch (err) {
    // ESRCH: no such group any more; EPERM: the id is no longer a group of ours.
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ESRCH' || code === 'EPERM') return false;
    throw err;
  }
}

/**
 * SIGTERM to the child's process group, then SIGKILL after `graceMs` unless the child has exited
 * by then (the group is killed as a whole either way). `exited` resolves when the child is gone.
 */
export function killGroup(proc: ChildProcess, exited: Promise<void>, graceMs: number): void {
  if (graceMs <= 0 || !signalGroup(proc, 'SIGTERM')) {
    signalGroup(proc, 'SIGKILL');
    return;
  }
  const timer = setTimeout(() => signalGroup(proc, 'SIGKILL'), graceMs);
  void exited.then(() => {
    clearTimeout(timer);
    // Whatever the leader left behind in its group goes too.
    signalGroup(proc, 'SIGKILL');
  });
}
