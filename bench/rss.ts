/**
 * Scenario `rss`: memory of an idle worker. A child process (bench/worker-process.ts, mode
 * `idle`) starts a worker with default options on a fresh store, idles 2 s (poll, heartbeat and
 * coordinator timers running), then reports `process.memoryUsage().rss`.
 *
 * tsx's loader alone costs ~30 MB that a deployed (compiled) stint does not pay. So the child is
 * also compiled: esbuild (tsx's own dependency) bundles bench/worker-process.ts with stint's
 * sources into one CommonJS file in the temp directory, packages left external and found through
 * NODE_PATH, and plain `node` runs it. The target applies to that compiled figure; the tsx
 * figures and each mode's `baseline` (no stint loaded) are shown for comparison.
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  BENCH_DIR,
  endChild,
  forkTs,
  type Metric,
  nextMessage,
  REPO_ROOT,
  SCENARIO_DEADLINE_MS,
  type ScenarioContext,
} from './lib.js';

const MB = 1024 * 1024;
type Memory = { rss: number; heapUsed: number };

async function report(child: ReturnType<typeof fork>, what: string): Promise<Memory> {
  try {
    return await nextMessage(
      child,
      (m) => ((m as { type?: string }).type === 'memory' ? (m as Memory) : undefined),
      SCENARIO_DEADLINE_MS / 4,
      `memory report (${what})`,
    );
  } finally {
    await endChild(child);
  }
}

/** Bundles the worker child into `dir`; null when esbuild cannot be loaded. */
async function compile(dir: string): Promise<string | null> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch {
    return null;
  }
  const outfile = join(dir, 'worker-process.cjs');
  await esbuild.build({
    entryPoints: [join(BENCH_DIR, 'worker-process.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    logLevel: 'error',
    define: { 'import.meta.url': JSON.stringify(pathToFileURL(join(BENCH_DIR, 'lib.ts')).href) },
  });
  return outfile;
}

const forkCompiled = (file: string, args: string[]) =>
  fork(file, args, {
    cwd: REPO_ROOT,
    execArgv: [],
    env: { ...process.env, NODE_PATH: join(REPO_ROOT, 'node_modules') },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });

export async function rss(ctx: ScenarioContext): Promise<Metric[]> {
  const metrics: Metric[] = [];
  const compiled = await compile(ctx.dir);
  if (compiled) {
    const worker = await report(
      forkCompiled(compiled, ['idle', join(ctx.dir, 'rss-compiled.db')]),
      'compiled',
    );
    const baseline = await report(forkCompiled(compiled, ['baseline']), 'compiled baseline');
    metrics.push(
      {
        key: 'rss.worker',
        label: 'idle worker RSS, compiled (plain node)',
        value: worker.rss / MB,
        unit: 'MB',
        target: { op: '<=', value: 80 },
      },
      { key: 'rss.heap', label: 'idle worker heap used, compiled', value: worker.heapUsed / MB, unit: 'MB' },
      { key: 'rss.baseline', label: 'plain node, nothing loaded, RSS', value: baseline.rss / MB, unit: 'MB' },
    );
  }
  const worker = await report(forkTs('worker-process.ts', ['idle', join(ctx.dir, 'rss.db')]), 'tsx');
  const baseline = await report(forkTs('worker-process.ts', ['baseline']), 'tsx baseline');
  metrics.push(
    {
      key: 'rss.tsx.worker',
      label: 'idle worker RSS under tsx',
      value: worker.rss / MB,
      unit: 'MB',
      ...(compiled ? {} : { target: { op: '<=' as const, value: 80 } }),
    },
    {
      key: 'rss.tsx.baseline',
      label: 'node + tsx, nothing loaded, RSS',
      value: baseline.rss / MB,
      unit: 'MB',
    },
  );
  return metrics;
}
