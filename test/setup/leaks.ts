import { afterAll, beforeAll, expect } from 'vitest';
import { openResources } from '../../src/internal/resources.js';

// After each test file: every store, client, worker and coordinator it created is closed, and no
// timer it started is still pending. The baseline is taken inside a hook, like the check, so the
// runner's own hook-timeout timer is counted on both sides.
let baselineTimers = 0;

function countTimers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'Immediate').length;
}

beforeAll(() => {
  baselineTimers = countTimers();
});

afterAll(async () => {
  expect(openResources(), 'resources left open by this test file').toEqual([]);
  // Let callbacks already due run, then count what is still scheduled.
  await new Promise((resolve) => setImmediate(resolve));
  expect(countTimers(), 'timers left running by this test file').toBeLessThanOrEqual(baselineTimers);
});
