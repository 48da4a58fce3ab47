import type { Clock } from '../core/clock.js';
import { StoreError } from '../core/errors.js';
import type { Logger } from '../internal/logger.js';
import type {
  Completion,
  CompletionBatch,
  CompletionResult,
  LogWrite,
  ProgressWrite,
  Store,
} from '../store/types.js';

/**
 * Batches what a worker writes about its jobs (completions, log lines, progress) into one store
 * transaction. Completions are flushed on the next turn of the event loop, so every job that
 * finished in the same turn shares a commit; logs and progress alone wait up to `logFlushMs`,
 * so a running job's lines are readable elsewhere within that time.
 * A failed write keeps its items and is tried again; nothing is dropped.
 */
export interface Reporter {
  complete(completion: Completion): void;
  log(entry: LogWrite): void;
  progress(entry: ProgressWrite): void;
  /** Writes everything queued so far. */
  flush(): Promise<void>;
  /** Flushes, then drops anything reported later. */
  close(): Promise<void>;
  /** Number of completions not yet written. */
  pendingCompletions(): number;
  /**
   * Hands everything queued to a caller that writes it in its own transaction (the claim loop's
   * `completeAndClaim`); it must call `written` with the results, or `putBack` on failure.
   */
  take(): CompletionBatch;
  written(results: CompletionResult[], completions: readonly Completion[]): void;
  putBack(batch: CompletionBatch): void;
  /** The claim in flight (see `holdCompletions`) came back: write what it did not take. */
  holdEnded(): void;
}

/** The longest completions wait for a claim in flight before they are written on their own. */
const HOLD_MAX_MS = 50;

export function createReporter(options: {
  store: Store;
  clock: Clock;
  logger: Logger;
  logFlushMs: number;
  onResults: (results: CompletionResult[], completions: readonly Completion[]) => void;
  /**
   * True while the worker has a claim in flight that will take the completions with it (its next
   * `completeAndClaim`): writes wait for it (up to HOLD_MAX_MS) instead of a commit of their own.
   */
  holdCompletions?: () => boolean;
}): Reporter {
  const { store, clock, logger } = options;
  let completions: Completion[] = [];
  let logs: LogWrite[] = [];
  let progress = new Map<string, ProgressWrite>();
  let flushing: Promise<void> | null = null;
  let immediate: NodeJS.Immediate | null = null;
  let cancelTimer: (() => void) | null = null;
  let failures = 0;
  let closing = false;
  /** After close, late items (from a handler that ignored its abort signal) are dropped. */
  let stopped = false;
  /** Since when writes have waited for a claim in flight, or null. */
  let heldSince: number | null = null;

  const empty = () => completions.length === 0 && logs.length === 0 && progress.size === 0;

  function take(): { completions: Completion[]; logs: LogWrite[]; progress: ProgressWrite[] } {
    heldSince = null;
    const batch = { completions, logs, progress: [...progress.values()] };
    completions = [];
    logs = [];
    progress = new Map();
    return batch;
  }

  function putBack(batch: CompletionBatch): void {
    completions = [...batch.completions, ...completions];
    logs = [...(batch.logs ?? []), ...logs];
    for (const p of batch.progress ?? []) if (!progress.has(p.jobId)) progress.set(p.jobId, p);
  }

  /** Writes what is queued; on failure puts it back and returns false. */
  async function writeOnce(): Promise<boolean> {
    if (empty()) return true;
    const batch = take();
    try {
      const results = await store.completeJobs(batch);
      failures = 0;
      options.onResults(results, batch.completions);
      return true;
    } catch (err) {
      // Put the batch back in front and try again later; leases keep the jobs ours meanwhile.
      putBack(batch);
      failures++;
      logger.error({ err, attempt: failures }, 'stint: writing job results failed; retrying');
      return false;
    }
  }

  const retryDelay = () => Math.min(5000, 50 * 2 ** failures);

  function run(): void {
    immediate = null;
    cancelTimer?.();
    cancelTimer = null;
    if (flushing) return;
    if (!closing && failures === 0 && options.holdCompletions?.()) {
      const now = clock.now();
      heldSince ??= now;
      if (now - heldSince < HOLD_MAX_MS) {
        schedule(HOLD_MAX_MS - (now - heldSince));
        return;
      }
    }
    flushing = writeOnce().then((ok) => {
      flushing = null;
      if (closing) return;
      if (!ok) schedule(retryDelay());
      else if (completions.length > 0) schedule(0);
      else if (!empty()) schedule(options.logFlushMs);
    });
  }

  function schedule(delayMs: number): void {
    if (delayMs === 0) {
      if (immediate === null) immediate = setImmediate(run);
      return;
    }
    if (immediate === null && cancelTimer === null) cancelTimer = clock.setTimer(run, delayMs);
  }

  return {
    complete(completion) {
      if (stopped) return;
      completions.push(completion);
      if (failures === 0 && !closing) schedule(0);
    },
    log(entry) {
      if (stopped) return;
      logs.push(entry);
      schedule(options.logFlushMs);
    },
    progress(entry) {
      if (stopped) return;
      progress.set(entry.jobId, entry);
      schedule(options.logFlushMs);
    },
    async flush() {
      closing = true;
      try {
        for (let tries = 0; ; tries++) {
          if (immediate) clearImmediate(immediate);
          immediate = null;
          cancelTimer?.();
          cancelTimer = null;
          while (flushing) await flushing;
          if (await writeOnce()) return;
          if (tries >= 5) {
            throw new StoreError(
              'could not write job results to the store; the jobs will run again when their leases expire',
            );
          }
          await clock.sleep(retryDelay());
        }
      } finally {
        closing = false;
      }
    },
    async close() {
      try {
        await this.flush();
      } finally {
        stopped = true;
        if (immediate) clearImmediate(immediate);
        cancelTimer?.();
      }
    },
    pendingCompletions: () => completions.length,
    take() {
      // What was scheduled to write these is moot now.
      if (immediate) clearImmediate(immediate);
      immediate = null;
      cancelTimer?.();
      cancelTimer = null;
      return take();
    },
    written: (results, done) => options.onResults(results, done),
    putBack(batch) {
      putBack(batch);
      if (!closing && !stopped) schedule(0);
    },
    holdEnded() {
      if (heldSince !== null && !empty() && !closing && !stopped) schedule(0);
    },
  };
}
