import { describe, expect, it } from 'vitest';
import { createFakeClock } from './clock.js';

describe('fake clock', () => {
  it('fires timers in due order when advanced', () => {
    const clock = createFakeClock(1000);
    const fired: string[] = [];
    clock.setTimer(() => fired.push('b'), 20);
    clock.setTimer(() => fired.push('a'), 10);
    const cancel = clock.setTimer(() => fired.push('never'), 15);
    cancel();
    clock.advance(15);
    expect(fired).toEqual(['a']);
    clock.advance(5);
    expect(fired).toEqual(['a', 'b']);
    expect(clock.now()).toBe(1020);
  });

  it('resolves sleeps on advance or abort', async () => {
    const clock = createFakeClock(0);
    let done = false;
    const p = clock.sleep(100).then(() => {
      done = true;
    });
    clock.advance(99);
    await Promise.resolve();
    expect(done).toBe(false);
    clock.advance(1);
    await p;
    expect(done).toBe(true);

    const ac = new AbortController();
    const q = clock.sleep(1_000_000, ac.signal);
    ac.abort();
    await q;
    expect(clock.pending()).toBe(0);
  });

  it('refuses to go backwards', () => {
    const clock = createFakeClock(10);
    expect(() => clock.set(5)).toThrow(RangeError);
  });
});
