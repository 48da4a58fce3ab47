import { describe, expect, it } from 'vitest';
import { createDefinitionCache, type ScheduleClock } from './definitions.js';

const row = (over: Partial<{ target: string; createdAt: number }> = {}) => ({
  name: 'nightly',
  description: null,
  target: over.target ?? '{"kind":"job","job":{"task":"t","retry":{"maxAttempts":3}}}',
  trigger: '{"type":"interval","everyMs":1000,"referenceMs":0}',
  policies: '{"misfire":"skip"}',
  metadata: null,
  createdAt: over.createdAt ?? 5,
});

const clock = (over: Partial<ScheduleClock> = {}): ScheduleClock => ({
  id: '7',
  state: 'active',
  nextFireAt: 1000,
  wakeAt: 1000,
  fireCount: 0,
  lastFireAt: null,
  runtime: '{}',
  version: 3,
  createdAt: 5,
  updatedAt: 5,
  ...over,
});

describe('definition cache', () => {
  it('holds a definition for one version and follows the fires this process committed', () => {
    const cache = createDefinitionCache();
    const def = cache.parse(row());
    cache.put('7', 3, def);
    expect(cache.get(clock())).toBe(def);
    expect(cache.get(clock({ version: 4 }))).toBeUndefined();
    cache.advanced('7', 3);
    expect(cache.get(clock({ version: 4 }))).toBe(def);
    expect(cache.get(clock({ version: 3 }))).toBeUndefined();
    // A fire fenced on another version (someone else's change came first) moves nothing.
    cache.advanced('7', 9);
    expect(cache.get(clock({ version: 4 }))).toBe(def);
  });

  it('misses a reused id (another created_at) and a forgotten one', () => {
    const cache = createDefinitionCache();
    cache.put('7', 3, cache.parse(row()));
    expect(cache.get(clock({ createdAt: 6 }))).toBeUndefined();
    cache.forget('7');
    expect(cache.get(clock())).toBeUndefined();
  });

  it('shares and freezes equal JSON, so runs of equal targets share one job template', () => {
    const cache = createDefinitionCache();
    const a = cache.parse(row());
    const b = cache.parse(row());
    expect(b.target).toBe(a.target);
    expect(Object.isFrozen(a.target)).toBe(true);
    const job = (a.target as { job: { retry: object } }).job;
    expect(Object.isFrozen(job.retry)).toBe(true);
    expect(cache.parse(row({ target: '{"kind":"job","job":{"task":"u"}}' })).target).not.toBe(a.target);
  });

  it('builds records from the moving columns and the definition', () => {
    const cache = createDefinitionCache();
    const def = cache.parse(row());
    const record = cache.record(clock({ runtime: '{"streak":2}', fireCount: 4 }), def);
    expect(record).toMatchObject({
      id: '7',
      name: 'nightly',
      fireCount: 4,
      runtime: { streak: 2 },
      version: 3,
    });
    expect(cache.record(clock(), def).runtime).toEqual({});
  });
});
