// #region tasks
import { z } from 'zod';
import { defineShellTask, defineTask } from '../src/index.js';

// Runs in a child process: a crash, a busy loop or running out of memory cannot take the worker
// down. The child imports this module to find the task, so keep the module free of side effects.
export const countPrimes = defineTask({
  name: 'countPrimes',
  input: z.object({ below: z.number().int().positive() }),
  sandbox: { kind: 'process', memoryMb: 256 },
  module: import.meta.url,
  timeout: '30s',
  run: (ctx, { below }) => {
    let primes = 0;
    for (let n = 2; n < below; n++) {
      let prime = true;
      for (let d = 2; d * d <= n; d++) if (n % d === 0) prime = false;
      if (prime) primes++;
    }
    console.log(`checked ${below - 2} numbers`); // stdout: stored with the job (stream stdout)
    ctx.log.info('done', { primes });
    return { primes };
  },
});

// Runs a command: each value is filled into exactly one argument (no shell, no injection), and
// the last line of JSON on stdout is the result.
export const wordCount = defineShellTask({
  name: 'wordCount',
  input: z.object({ text: z.string() }),
  command: [
    process.execPath,
    '-e',
    'console.log("counting"); console.log(JSON.stringify({ words: process.argv[1].split(/\\s+/).length }))',
    '{{input.text}}',
  ],
  result: 'last-json-line',
  output: z.object({ words: z.number() }),
  timeout: '30s',
});
// #endregion tasks
