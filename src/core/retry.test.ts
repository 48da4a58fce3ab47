import { describe, expect, it } from 'vitest';
import { ValidationError } from './errors.js';
import { backoffDelay, DEFAULT_RETRY, resolveRetry, retryDelayAfterFailure } from './retry.js';

describe('retry policy', () => {
  const policy = resolveRetry({ maxAttempts: 5, backoff: '100ms', factor: 2, maxBackoff: '1s', jitter: 0 });

  it('grows exponentially and caps at maxBackoff', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(policy, n))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('spreads delays by the jitter fraction', () => {
    const jittered = { ...policy, jitter: 0.5 };
    expect(backoffDelay(jittered, 2, () => 0)).toBe(100);
    expect(backoffDelay(jittered, 2, () => 0.999999)).toBe(200);
  });

  it('stops after maxAttempts or on a permanent error', () => {
    expect(retryDelayAfterFailure(policy, 1, false)).toBe(100);
    expect(retryDelayAfterFailure(policy, 4, false)).toBe(800);
    expect(retryDelayAfterFailure(policy, 5, false)).toBeNull();
    expect(retryDelayAfterFailure(policy, 1, true)).toBeNull();
  });

  it('uses defaults and rejects bad values naming the field', () => {
    expect(resolveRetry(undefined)).toEqual(DEFAULT_RETRY);
    expect(resolveRetry({ maxAttempts: 1 }).maxAttempts).toBe(1);
    expect(() => resolveRetry({ maxAttempts: 0 })).toThrow(ValidationError);
    expect(() => resolveRetry({ jitter: 2 })).toThrow(/retry.jitter/);
  });
});
