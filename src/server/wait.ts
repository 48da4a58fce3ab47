import type { Store, StoreNotification } from '../store/types.js';

/**
 * Resolves at the first store notification `wakes` accepts (or any `changed`, which is all another
 * process's write says), after `ms`, or when `signal` aborts, whichever comes first. Long-polls and
 * streams loop on it: read, and if nothing new, wait for this.
 */
export function nextChange(
  store: Store,
  wakes: (n: StoreNotification) => boolean,
  ms: number,
  signal: AbortSignal,
): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      unsubscribe();
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    const unsubscribe = store.subscribe((n) => {
      if (n.type === 'changed' || wakes(n)) done();
    });
    signal.addEventListener('abort', done, { once: true });
  });
}
