import { type Duration, parseDuration } from './duration.js';
import { ValidationError } from './errors.js';

/** How a failed attempt is retried. Set per task and overridable per job. */
export interface RetryOptions {
  /**
   * Attempts in all, the first included; 1 means no retry.
   * @default 3
   */
  maxAttempts?: number;
  /**
   * Delay before the first retry; each next one is `factor` times longer.
   * @default '1s'
   */
  backoff?: Duration;
  /** @default 2 */
  factor?: number;
  /**
   * The longest delay between attempts.
   * @default '5m'
   */
  maxBackoff?: Duration;
  /**
   * Fraction of each delay that is randomised (0: none, 1: anywhere from 0 to the delay),
   * so that jobs failing together do not all retry in the same instant.
   * @default 0.25
   */
  jitter?: number;
}

/** Resolved retry policy, as stored with each job. */
export interface RetryPolicy {
  maxAttempts: number;
  baseMs: number;
  factor: number;
  maxMs: number;
  jitter: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 3,
  baseMs: 1000,
  factor: 2,
  maxMs: 300_000,
  jitter: 0.25,
};

export function resolveRetry(
  options: RetryOptions | undefined,
  base: RetryPolicy = DEFAULT_RETRY,
): RetryPolicy {
  if (!options) return base;
  const policy: RetryPolicy = {
    maxAttempts: options.maxAttempts ?? base.maxAttempts,
    baseMs: options.backoff === undefined ? base.baseMs : parseDuration(options.backoff, 'retry.backoff'),
    factor: options.factor ?? base.factor,
    maxMs:
      options.maxBackoff === undefined ? base.maxMs : parseDuration(options.maxBackoff, 'retry.maxBackoff'),
    jitter: options.jitter ?? base.jitter,
  };
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1) {
    throw new ValidationError('retry.maxAttempts must be an integer of at least 1', [
      { path: 'retry.maxAttempts', message: `got ${policy.maxAttempts}` },
    ]);
  }
  if (!(policy.factor >= 1)) {
    throw new ValidationError('retry.factor must be at least 1', [
      { path: 'retry.factor', message: `got ${policy.factor}` },
    ]);
  }
  if (!(policy.jitter >= 0 && policy.jitter <= 1)) {
    throw new ValidationError('retry.jitter must be between 0 and 1', [
      { path: 'retry.jitter', message: `got ${policy.jitter}` },
    ]);
  }
  return policy;
}

/**
 * Delay before retry number `retry` (1 for the first retry): exponential, capped, with jitter.
 * `random` is injectable so tests are exact.
 */
export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const raw = Math.min(policy.maxMs, policy.baseMs * policy.factor ** Math.max(0, retry - 1));
  const spread = raw * policy.jitter;
  return Math.round(raw - spread + random() * spread);
}

/**
 * What happens after a failed attempt: the delay before the next one, or `null` to fail the job.
 * `attemptsUsed` counts attempts of this run, the failed one included.
 */
export function retryDelayAfterFailure(
  policy: RetryPolicy,
  attemptsUsed: number,
  permanent: boolean,
  random: () => number = Math.random,
): number | null {
  if (permanent || attemptsUsed >= policy.maxAttempts) return null;
  return backoffDelay(policy, attemptsUsed, random);
}
