/**
 * Time is a parameter. Everything that reads the time or waits takes a `Clock`, so tests can
 * drive time with `createFakeClock()` instead of sleeping.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`, or at once when `signal` aborts (it never rejects). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Calls `fn` after `ms`; returns a function that cancels it. */
  setTimer(fn: () => void, ms: number): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep(ms, signal) {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const onAbort = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  },
  setTimer(fn, ms) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};

export interface FakeClock extends Clock {
  /** Moves time forward, firing every timer and sleep that falls due, in order. */
  advance(ms: number): void;
  /** Sets the time; it may not go backwards. */
  set(ms: number): void;
  /** Number of timers and sleeps waiting. */
  pending(): number;
}

interface FakeTimer {
  at: number;
  seq: number;
  fn: () => void;
}

export function createFakeClock(start = Date.UTC(2026, 0, 1)): FakeClock {
  let current = start;
  let seq = 0;
  const timers = new Set<FakeTimer>();

  const setTimer = (fn: () => void, ms: number) => {
    const timer = { at: current + Math.max(0, ms), seq: seq++, fn };
    timers.add(timer);
    return () => {
      timers.delete(timer);
    };
  };

  const runDue = () => {
    for (;;) {
      let next: FakeTimer | undefined;
      for (const t of timers) {
        if (t.at <= current && (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t;
      }
      if (!next) return;
      timers.delete(next);
      next.fn();
    }
  };

  return {
    now: () => current,
    sleep(ms, signal) {
      return new Promise((resolve) => {
        if (signal?.aborted) return resolve();
        const cancel = setTimer(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        }, ms);
        const onAbort = () => {
          cancel();
          resolve();
        };
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
    setTimer,
    advance(ms) {
      current += ms;
      runDue();
    },
    set(ms) {
      if (ms < current) throw new RangeError(`fake clock cannot go back from ${current} to ${ms}`);
      current = ms;
      runDue();
    },
    pending: () => timers.size,
  };
}
