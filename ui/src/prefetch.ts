/**
 * Reads started before React has rendered anything: at load the app asks GET /auth/me and the
 * opened page's first read at once, so neither waits for the other nor for the page's code. Each
 * answer is taken once, by whoever would have asked for it, and only while fresh.
 */

/** An answer older than this is not shown: the page asks again. */
const FRESH_MS = 5000;

interface Started {
  at: number;
  promise: Promise<unknown>;
  /** Set once the read answered. */
  answer?: { value: unknown };
}

const started = new Map<string, Started>();

/** Starts `load` now; `take(key)` hands its promise over later. */
export function prefetch<T>(key: string, load: () => Promise<T>): void {
  const entry: Started = { at: Date.now(), promise: load() };
  // The taker handles the error (the promise is handed over as it is). One nobody takes (the login
  // page was shown instead, or the user went elsewhere) is dropped: its failure is reported by
  // the read that replaced it.
  entry.promise.then(
    (value) => {
      entry.answer = { value };
    },
    () => undefined,
  );
  started.set(key, entry);
}

/** The answer of the read started for `key` if it is in already (not taken: `take` still hands it over). */
export function peek<T>(key: string): T | undefined {
  const entry = started.get(key);
  return entry?.answer && Date.now() - entry.at <= FRESH_MS ? (entry.answer.value as T) : undefined;
}

/** Resolves when every read started so far has answered (or failed), or after `maxMs`. */
export function allAnswered(maxMs: number): Promise<unknown> {
  return Promise.race([
    Promise.allSettled([...started.values()].map((e) => e.promise)),
    new Promise((resolve) => setTimeout(resolve, maxMs)),
  ]);
}

/** The read started for `key`, once; undefined when there is none or it is stale. */
export function take<T>(key: string): Promise<T> | undefined {
  const entry = started.get(key);
  if (!entry) return undefined;
  started.delete(key);
  return Date.now() - entry.at <= FRESH_MS ? (entry.promise as Promise<T>) : undefined;
}

/** Forgets every read not taken yet (e.g. when the session turned out to be missing). */
export function dropPrefetched(): void {
  started.clear();
}
