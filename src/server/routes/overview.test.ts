import { describe, expect, it } from 'vitest';
import { costBoundedCache } from './overview.js';

describe('costBoundedCache', () => {
  it('shares one read among concurrent callers and reuses it for ten times its duration', async () => {
    let clock = 1000;
    let reads = 0;
    let release: () => void = () => {};
    const cached = costBoundedCache(
      () =>
        new Promise<number>((resolve) => {
          reads++;
          release = () => resolve(reads);
        }),
      () => clock,
    );
    const a = cached();
    const b = cached();
    clock += 200; // the read takes 200 ms
    release();
    expect(await a).toBe(1);
    expect(await b).toBe(1);
    clock += 1999;
    expect(await cached()).toBe(1);
    clock += 1;
    const c = cached();
    release();
    expect(await c).toBe(2);
  });

  it('forgets a failed read at once', async () => {
    let fail = true;
    const cached = costBoundedCache(async () => {
      if (fail) throw new Error('store down');
      return 'ok';
    });
    await expect(cached()).rejects.toThrow('store down');
    fail = false;
    expect(await cached()).toBe('ok');
  });
});
