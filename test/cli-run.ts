import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TSX_LOADER } from './processes.js';

const cliFixture = join(fileURLToPath(new URL('..', import.meta.url)), 'test/fixtures/cli.ts');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `stint <args>` from source (test/fixtures/cli.ts) in `cwd`, without colours, with `stdin`
 * piped in when given; resolves with the exit code and the output.
 */
export function runCli(
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string>; stdin?: string },
): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', TSX_LOADER, cliFixture, ...args], {
      cwd: options.cwd,
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    if (options.stdin !== undefined) child.stdin?.end(options.stdin);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
