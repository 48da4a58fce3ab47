import type { Logger } from '../../internal/logger.js';
import type { ResolvedSandbox } from '../../task/sandbox.js';
import { createProcessSandbox } from './process.js';
import { createShellSandbox } from './shell.js';
import type { Sandbox, SandboxRun } from './types.js';

export type { Sandbox, SandboxRun } from './types.js';

type Isolated = Exclude<ResolvedSandbox, { kind: 'inline' }>;

/** A worker's sandboxes other than inline, made when first used and closed with the worker. */
export interface Sandboxes {
  run(run: SandboxRun<Isolated>): Promise<unknown>;
  /** Kills what still runs (their attempts are already over) and waits until it is gone. */
  close(): Promise<void>;
}

export function createSandboxes(logger: Logger): Sandboxes {
  let processes: Sandbox<Extract<Isolated, { kind: 'process' }>> | null = null;
  let shells: Sandbox<Extract<Isolated, { kind: 'shell' }>> | null = null;
  return {
    run(r) {
      if (r.settings.kind === 'process') {
        processes ??= createProcessSandbox(logger);
        return processes.run(r as SandboxRun<typeof r.settings>);
      }
      shells ??= createShellSandbox();
      return shells.run(r as SandboxRun<Extract<Isolated, { kind: 'shell' }>>);
    },
    async close() {
      await Promise.all([processes?.close(), shells?.close()]);
    },
  };
}
