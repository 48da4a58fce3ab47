import { readFileSync } from 'node:fs';
import type { SubmitOptions } from '../../client/submit-options.js';
import { ValidationError } from '../../core/errors.js';
import { EXIT, printJson } from '../context.js';
import { dim } from '../format.js';
import { bar, progressLine } from '../progress.js';
import type { CommandClient } from '../with-client.js';

/** Jobs per `submitMany` call: one insert transaction (and one HTTP request on a server) each. */
const BATCH = 1000;

/**
 * The inputs of `--input-file`: a JSON array, or JSON lines (one input per line, blank lines
 * skipped); `-` reads stdin.
 */
export function readInputs(path: string): unknown[] {
  let text: string;
  try {
    text = readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (err) {
    throw new ValidationError(`--input-file: cannot read ${path}: ${(err as Error).message}`, [
      { path: '--input-file', message: 'unreadable' },
    ]);
  }
  const trimmed = text.trimStart();
  if (trimmed.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      if (Array.isArray(parsed)) return parsed;
    } catch (err) {
      throw new ValidationError(`--input-file ${path} is not a valid JSON array: ${(err as Error).message}`, [
        { path: '--input-file', message: 'invalid JSON' },
      ]);
    }
  }
  const inputs: unknown[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '') continue;
    try {
      inputs.push(JSON.parse(line));
    } catch (err) {
      throw new ValidationError(
        `--input-file ${path}, line ${i + 1} is not valid JSON (${(err as Error).message}); give one JSON input per line, or a JSON array`,
        [{ path: `--input-file:${i + 1}`, message: 'invalid JSON' }],
      );
    }
  }
  return inputs;
}

/**
 * Submits one job per input in batches, with a progress bar on a terminal; prints the ids (one per
 * line, or a JSON array). With `wait`, then waits for every job and exits 1 if any did not succeed.
 */
export async function submitBulk(
  client: CommandClient,
  task: string,
  inputs: readonly unknown[],
  options: SubmitOptions,
  flags: { wait: boolean; json: boolean; waitTimeout?: string },
): Promise<number> {
  const ids: string[] = [];
  const line = progressLine();
  try {
    for (let start = 0; start < inputs.length; start += BATCH) {
      const handles = await client.submitMany(task, inputs.slice(start, start + BATCH), options);
      for (const h of handles) ids.push(h.id);
      line.update(`${bar(ids.length, inputs.length)} submitted ${ids.length}/${inputs.length}`);
    }
  } finally {
    line.done();
  }
  if (!flags.wait) {
    if (flags.json) printJson({ ids });
    else for (const id of ids) console.log(id);
    return EXIT.ok;
  }
  return waitForAll(client, ids, flags);
}

async function waitForAll(
  client: CommandClient,
  ids: readonly string[],
  flags: { json: boolean; waitTimeout?: string },
): Promise<number> {
  const line = progressLine();
  const states: { id: string; state: string }[] = [];
  let failed = 0;
  try {
    // In submission order: by the time the first has finished most others have too, so the rest
    // are one read each.
    for (const id of ids) {
      await client
        .job(id)
        .result(flags.waitTimeout ? { timeout: flags.waitTimeout } : {})
        .catch((err: unknown) => {
          if ((err as { code?: string }).code === 'WAIT_TIMEOUT') throw err;
        });
      const job = await client.get(id);
      states.push({ id, state: job.state });
      if (job.state !== 'succeeded') failed++;
      line.update(
        `${bar(states.length, ids.length)} finished ${states.length}/${ids.length}${failed ? `, ${failed} failed` : ''}`,
      );
    }
  } finally {
    line.done();
  }
  if (flags.json) printJson({ jobs: states });
  else {
    for (const s of states) console.log(`${s.id}  ${s.state}`);
    if (failed > 0)
      console.error(
        dim(`${failed} of ${ids.length} jobs did not succeed; see: stint jobs ls --state failed`),
      );
  }
  return failed > 0 ? EXIT.failed : EXIT.ok;
}
