import { describe, expect, it } from 'vitest';
import { parsePayload } from './listen.js';

describe('NOTIFY payloads', () => {
  it('reads available queues with and without a due time, finished ids, cancels and finished flows', () => {
    expect(parsePayload('a:default,mail')).toEqual({
      type: 'jobs-available',
      queues: ['default', 'mail'],
      earliestRunAt: 0,
    });
    expect(parsePayload('a:q@1700000000000')).toEqual({
      type: 'jobs-available',
      queues: ['q'],
      earliestRunAt: 1700000000000,
    });
    expect(parsePayload('f:1,2')).toEqual({ type: 'jobs-finished', ids: ['1', '2'] });
    expect(parsePayload('c:9')).toEqual({ type: 'cancel-requested', ids: ['9'] });
    expect(parsePayload('g:3,4')).toEqual({ type: 'flows-finished', ids: ['3', '4'] });
    expect(parsePayload('x:')).toEqual({ type: 'changed' });
  });
});
