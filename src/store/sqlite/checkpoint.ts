import type Database from 'better-sqlite3';

/**
 * WAL pages after which a commit checkpoints on its own (SQLite's automatic checkpoint): only a
 * backstop here, for a process whose event loop is too busy to run the timer below (~100 MB with
 * 4 KiB pages; SQLite's default is 1,000).
 */
export const AUTOCHECKPOINT_PAGES = 25_000;
/** Bytes a WAL file is cut back to after a checkpoint let it start over. */
export const JOURNAL_SIZE_LIMIT = 64 * 2 ** 20;
/** A checkpoint waits for this long without a write... */
const QUIET_MS = 50;
/** ...but no longer than this after the first write it covers. */
const MAX_DELAY_MS = 1000;

/**
 * Checkpoints the WAL between bursts of writes instead of inside them. SQLite's automatic checkpoint
 * runs in the commit that crosses 1,000 pages: a burst that rewrites the same pages many times
 * (a round of schedule fires, a drain) copies them into the file again at every crossing, inside the
 * writer's transaction. Here a `PASSIVE` checkpoint runs once writes pause for QUIET_MS, or
 * MAX_DELAY_MS after the first one, so the WAL holds at most about a second of writes.
 *
 * Safe with other processes on the file: a passive checkpoint takes no lock that readers or writers
 * wait for and never waits itself (another process checkpointing makes it return at once), and it
 * copies only what no reader still needs; each process's store runs its own. Like any checkpoint, it
 * cannot start the WAL over while a reader holds an old snapshot.
 */
export function createCheckpointer(db: Database.Database, onError: (err: unknown) => void) {
  const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
  let timer: NodeJS.Timeout | null = null;
  let first = 0;
  let last = 0;
  const schedule = (ms: number) => {
    timer = setTimeout(tick, ms);
    timer.unref();
  };
  function tick(): void {
    timer = null;
    const wait = Math.min(last + QUIET_MS, first + MAX_DELAY_MS) - performance.now();
    if (wait > 0) {
      schedule(wait);
      return;
    }
    try {
      checkpoint.get();
    } catch (err) {
      onError(err);
    }
  }
  return {
    /** After each write transaction. */
    wrote(): void {
      last = performance.now();
      if (timer === null) {
        first = last;
        schedule(QUIET_MS);
      }
    },
    close(): void {
      if (timer !== null) clearTimeout(timer);
      timer = null;
    },
  };
}
