import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration.js';
import { ValidationError } from './errors.js';

describe('parseDuration', () => {
  it('reads numbers as milliseconds and strings with units', () => {
    expect(parseDuration(250, 'x')).toBe(250);
    expect(parseDuration('500ms', 'x')).toBe(500);
    expect(parseDuration('1.5s', 'x')).toBe(1500);
    expect(parseDuration('5m', 'x')).toBe(300_000);
    expect(parseDuration('2h', 'x')).toBe(7_200_000);
    expect(parseDuration('7d', 'x')).toBe(604_800_000);
  });

  it('names the option in the error', () => {
    expect(() => parseDuration('soon', 'dedupWindow')).toThrow(/dedupWindow/);
    expect(() => parseDuration(-1, 'delay')).toThrow(ValidationError);
  });
});
