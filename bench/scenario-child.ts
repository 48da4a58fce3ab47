/**
 * Runs one scenario once and sends its metrics to the runner over IPC:
 *   node --import tsx bench/scenario-child.ts <scenario> <tempDir> [sqlite|postgres]
 * The runner owns the temp directory and kills this process if it overruns.
 */
import { scenariosFor } from './scenarios.js';

const [name, dir, store = 'sqlite'] = process.argv.slice(2);

async function main(): Promise<unknown> {
  const scenario = scenariosFor(store).find((s) => s.name === name);
  if (!scenario || !dir) throw new Error(`usage: scenario-child.ts <scenario> <dir> (got ${name} ${dir})`);
  const run = await scenario.load();
  return { type: 'result', metrics: await run({ dir }) };
}

/** Sends the outcome, then exits even if a scenario left a timer or handle behind. */
function finish(message: unknown, code: number): void {
  const exit = () => process.exit(code);
  setTimeout(exit, 2000).unref();
  if (process.send) process.send(message, undefined, {}, exit);
  else {
    console.log(JSON.stringify(message, null, 2));
    exit();
  }
}

main().then(
  (message) => finish(message, 0),
  (err: unknown) =>
    finish({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }, 1),
);
