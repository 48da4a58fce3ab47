// The no-op tasks of the `sandbox` scenario; the process sandbox's children import this module.
import { z } from 'zod';
import { defineTask } from '../src/index.js';

const input = z.unknown();
const run = () => null;

export const inlineNoop = defineTask({ name: 'noop-inline', input, run });
export const processNoop = defineTask({
  name: 'noop-process',
  input,
  run,
  sandbox: { kind: 'process' },
  module: import.meta.url,
});
export const freshProcessNoop = defineTask({
  name: 'noop-process-fresh',
  input,
  run,
  sandbox: { kind: 'process', reuse: false },
  module: import.meta.url,
});
