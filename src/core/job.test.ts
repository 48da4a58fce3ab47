import { describe, expect, it } from 'vitest';
import { canTransition, isFinished, JOB_STATES } from './job.js';

describe('job state machine', () => {
  it('allows exactly the documented transitions', () => {
    const allowed = JOB_STATES.flatMap((from) =>
      JOB_STATES.filter((to) => canTransition(from, to)).map((to) => `${from}->${to}`),
    );
    expect(allowed.sort()).toEqual(
      [
        'pending->running',
        'pending->cancelled',
        'running->succeeded',
        'running->failed',
        'running->cancelled',
        'running->pending',
        'failed->pending',
        'cancelled->pending',
      ].sort(),
    );
  });

  it('knows the finished states', () => {
    expect(JOB_STATES.filter(isFinished)).toEqual(['succeeded', 'failed', 'cancelled']);
  });
});
