import { describe, expect, it } from 'vitest';
import { ValidationError } from '../core/errors.js';
import { formatDate, placeholdersIn, renderParams } from './params.js';
import {
  countFireTimes,
  fireTimesBetween,
  latestFireTimesBefore,
  nextFireAfter,
  nextFireTimes,
  parseTrigger,
} from './trigger.js';

const t = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();
const next = (spec: Parameters<typeof parseTrigger>[0], after: string, n = 3) =>
  nextFireTimes(parseTrigger(spec), t(after), n).map(iso);

describe('cron triggers', () => {
  it('takes 6 fields with seconds first, and 5 fields from the minute', () => {
    expect(next({ cron: '*/20 * * * * *' }, '2026-01-01T00:00:05Z')).toEqual([
      '2026-01-01T00:00:20.000Z',
      '2026-01-01T00:00:40.000Z',
      '2026-01-01T00:01:00.000Z',
    ]);
    expect(next({ cron: '30 2 * * *' }, '2026-01-01T00:00:00Z', 2)).toEqual([
      '2026-01-01T02:30:00.000Z',
      '2026-01-02T02:30:00.000Z',
    ]);
  });

  it('is strictly after the given time', () => {
    expect(nextFireAfter(parseTrigger({ cron: '0 * * * * *' }), t('2026-01-01T00:01:00Z'))).toBe(
      t('2026-01-01T00:02:00Z'),
    );
  });

  it('supports Quartz L, W, # and ?', () => {
    // Last day of the month.
    expect(next({ cron: '0 0 12 L * ?' }, '2026-01-01T00:00:00Z', 3)).toEqual([
      '2026-01-31T12:00:00.000Z',
      '2026-02-28T12:00:00.000Z',
      '2026-03-31T12:00:00.000Z',
    ]);
    // Nearest weekday to the 15th: 2026-02-15 is a Sunday, so Monday the 16th.
    expect(next({ cron: '0 0 12 15W * ?' }, '2026-02-01T00:00:00Z', 1)).toEqual(['2026-02-16T12:00:00.000Z']);
    // Second Friday of the month.
    expect(next({ cron: '0 0 12 ? * 5#2' }, '2026-01-01T00:00:00Z', 2)).toEqual([
      '2026-01-09T12:00:00.000Z',
      '2026-02-13T12:00:00.000Z',
    ]);
    // Last Friday of the month.
    expect(next({ cron: '0 0 12 ? * 5L' }, '2026-01-01T00:00:00Z', 1)).toEqual(['2026-01-30T12:00:00.000Z']);
  });

  it('fires in its time zone', () => {
    expect(next({ cron: '0 2 * * *', timezone: 'Europe/Berlin' }, '2026-01-10T00:00:00Z', 1)).toEqual([
      '2026-01-10T01:00:00.000Z',
    ]);
    expect(next({ cron: '0 2 * * *', timezone: 'Europe/Berlin' }, '2026-07-09T23:00:00Z', 1)).toEqual([
      '2026-07-10T00:00:00.000Z',
    ]);
  });

  it('spring forward: a local time that does not exist fires once, at the next valid time', () => {
    // 2026-03-29 in Berlin: 02:00 jumps to 03:00; 02:30 does not exist that day.
    expect(next({ cron: '0 30 2 * * *', timezone: 'Europe/Berlin' }, '2026-03-28T00:00:00Z', 3)).toEqual([
      '2026-03-28T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:00:00.000Z', // 03:00 CEST, the first valid time after the gap
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
    ]);
    // Times that exist are unaffected: an hourly job runs 23 times that day.
    const trigger = parseTrigger({ cron: '0 0 * * * *', timezone: 'Europe/Berlin' });
    expect(countFireTimes(trigger, t('2026-03-28T23:00:00Z'), t('2026-03-29T21:59:59Z'), 100)).toBe(23);
  });

  it('fall back: a local time that happens twice fires once', () => {
    // 2026-10-25 in Berlin: 03:00 goes back to 02:00; 02:30 happens twice.
    expect(next({ cron: '0 30 2 * * *', timezone: 'Europe/Berlin' }, '2026-10-24T00:00:00Z', 3)).toEqual([
      '2026-10-24T00:30:00.000Z', // 02:30 CEST
      '2026-10-25T00:30:00.000Z', // 02:30 CEST, the first of the two; not again at 01:30Z
      '2026-10-26T01:30:00.000Z', // 02:30 CET
    ]);
    // An hourly job runs 25 times that day.
    const trigger = parseTrigger({ cron: '0 0 * * * *', timezone: 'Europe/Berlin' });
    expect(countFireTimes(trigger, t('2026-10-24T22:00:00Z'), t('2026-10-25T22:59:59Z'), 100)).toBe(25);
  });

  it('rejects bad expressions and zones with a message saying what is wrong', () => {
    const message = (spec: unknown) => {
      try {
        parseTrigger(spec);
      } catch (err) {
        expect(err).toBeInstanceOf(ValidationError);
        return (err as ValidationError).message;
      }
      throw new Error('no error');
    };
    expect(message({ cron: '61 * * * *' })).toMatch(
      /trigger\.cron: invalid cron expression "61 \* \* \* \*".*minute/,
    );
    expect(message({ cron: '* * *' })).toMatch(/5 fields .* or 6 .* got 3/);
    expect(message({ cron: '0 * * * *', timezone: 'Mars/Olympus' })).toMatch(
      /unknown time zone "Mars\/Olympus"/,
    );
    expect(message({ cron: '0 * * * *', every: '1m' })).toMatch(/exactly one of/);
    expect(message({ every: '10ms' })).toMatch(/at least 1s/);
    expect(message({ every: 'soon' })).toMatch(/duration/);
    expect(message({ once: 'tomorrow' })).toMatch(/ISO 8601/);
    expect(message({ datasets: [] })).toMatch(/non-empty/);
    expect(message({ datasets: ['a', 'a'] })).toMatch(/twice/);
    expect(message({ cron: '* * * * *', zone: 'UTC' })).toMatch(/trigger\.zone: not an option/);
  });
});

describe('interval triggers', () => {
  it('aligns to the reference: the worked example', () => {
    const trigger = parseTrigger({ every: '1d', reference: '2021-01-31T21:01:00Z' });
    expect(iso(nextFireAfter(trigger, t('2021-02-04T09:56:00Z')) as number)).toBe('2021-02-04T21:01:00.000Z');
  });

  it('keeps the alignment whenever it is asked (created, resumed)', () => {
    const trigger = parseTrigger({ every: '15m', reference: '2026-01-01T00:07:00Z' });
    expect(next({ every: '15m', reference: '2026-01-01T00:07:00Z' }, '2026-05-05T10:00:00Z', 2)).toEqual([
      '2026-05-05T10:07:00.000Z',
      '2026-05-05T10:22:00.000Z',
    ]);
    expect(iso(nextFireAfter(trigger, t('2026-05-05T10:07:00Z')) as number)).toBe('2026-05-05T10:22:00.000Z');
  });

  it('defaults the reference to the epoch: every hour fires on the hour, UTC', () => {
    expect(next({ every: '1h' }, '2026-05-05T10:20:00Z', 1)).toEqual(['2026-05-05T11:00:00.000Z']);
  });

  it('treats a reference in the future as the first fire time', () => {
    expect(next({ every: '1d', reference: '2030-01-01T09:00:00Z' }, '2026-05-05T10:20:00Z', 2)).toEqual([
      '2030-01-01T09:00:00.000Z',
      '2030-01-02T09:00:00.000Z',
    ]);
  });

  it('counts and lists fire times in a range, and finds the latest ones before a time', () => {
    const trigger = parseTrigger({ every: '1d', reference: '2026-01-01T02:00:00Z' });
    expect(countFireTimes(trigger, t('2026-01-01T00:00:00Z'), t('2026-01-30T23:59:59Z'), 1000)).toBe(30);
    expect(countFireTimes(trigger, t('2026-01-01T00:00:00Z'), t('2026-01-30T23:59:59Z'), 10)).toBe(10);
    const { times, more } = fireTimesBetween(
      trigger,
      t('2026-01-01T02:00:00Z'),
      t('2026-01-05T02:00:00Z'),
      3,
    );
    expect(times.map(iso)).toEqual([
      '2026-01-01T02:00:00.000Z',
      '2026-01-02T02:00:00.000Z',
      '2026-01-03T02:00:00.000Z',
    ]);
    expect(more).toBe(true);
    expect(
      latestFireTimesBefore(trigger, t('2026-01-01T00:00:00Z'), t('2026-01-05T02:00:00Z'), 2).map(iso),
    ).toEqual(['2026-01-03T02:00:00.000Z', '2026-01-04T02:00:00.000Z']);
    const cron = parseTrigger({ cron: '0 2 * * *' });
    expect(
      latestFireTimesBefore(cron, t('2026-01-01T00:00:00Z'), t('2026-01-05T02:00:00Z'), 2).map(iso),
    ).toEqual(['2026-01-03T02:00:00.000Z', '2026-01-04T02:00:00.000Z']);
  });
});

describe('once triggers', () => {
  it('fires once, then never', () => {
    const trigger = parseTrigger({ once: '2026-12-24T18:00:00Z' });
    expect(nextFireAfter(trigger, t('2026-12-01T00:00:00Z'))).toBe(t('2026-12-24T18:00:00Z'));
    expect(nextFireAfter(trigger, t('2026-12-24T18:00:00Z'))).toBeNull();
  });
});

describe('placeholders', () => {
  it('fills fire time, date in the zone, partition and schedule', () => {
    const params = {
      fireTime: t('2026-11-22T23:30:00Z'),
      timezone: 'Europe/Berlin',
      partition: 'p1',
      schedule: 'nightly',
    };
    expect(
      renderParams(
        {
          day: '{{ date }}',
          at: '{{fireTime}}',
          path: 's3://x/{{ partition }}/{{ date }}',
          n: 3,
          list: ['{{ schedule }}'],
        },
        params,
      ),
    ).toEqual({
      day: '2026-11-23',
      at: '2026-11-22T23:30:00.000Z',
      path: 's3://x/p1/2026-11-23',
      n: 3,
      list: ['nightly'],
    });
    expect(formatDate(t('2026-11-22T23:30:00Z'), 'UTC')).toBe('2026-11-22');
  });

  it('names the path of an unknown placeholder', () => {
    expect(() => placeholdersIn({ a: [{ b: 'x {{ fireTme }}' }] })).toThrow(
      /input\.a\.0\.b: unknown placeholder \{\{ fireTme \}\}/,
    );
    expect([...placeholdersIn({ a: '{{ date }}', b: '{{ partition }}' })].sort()).toEqual([
      'date',
      'partition',
    ]);
  });
});
