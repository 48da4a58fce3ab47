import { describe, expect, it } from 'vitest';
import { renderParams } from './params.js';

const params = {
  fireTime: Date.UTC(2026, 10, 21, 23, 30),
  timezone: 'Europe/Berlin',
  partition: 'p1',
  schedule: 'nightly',
};

describe('renderParams', () => {
  it('fills placeholders in place, keeps unknown ones as written and shares values without any', () => {
    const plain = { keep: 'as is' };
    const out = renderParams(
      { at: '{{ fireTime }}', day: 'd={{date}}/{{ nope }}/{{partition}}!', list: [1, '{{schedule}}'], plain },
      params,
    );
    expect(out).toEqual({
      at: '2026-11-21T23:30:00.000Z',
      day: 'd=2026-11-22/{{ nope }}/p1!',
      list: [1, 'nightly'],
      plain: { keep: 'as is' },
    });
  });

  it('renders each fire time anew (the last one is remembered, not reused for another)', () => {
    expect(renderParams('{{ fireTime }}', { ...params, fireTime: 0 })).toBe('1970-01-01T00:00:00.000Z');
    expect(renderParams('{{ fireTime }}', { ...params, fireTime: 1000 })).toBe('1970-01-01T00:00:01.000Z');
    expect(renderParams('{{ date }}', { ...params, fireTime: 0, timezone: 'UTC' })).toBe('1970-01-01');
    expect(renderParams('{{ date }}', { ...params, fireTime: 0, timezone: 'Asia/Tokyo' })).toBe('1970-01-01');
    expect(renderParams('{{ date }}', { ...params, fireTime: 0, timezone: 'America/New_York' })).toBe(
      '1969-12-31',
    );
  });
});
