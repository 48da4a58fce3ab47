import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { StoreListener, StoreNotification } from '../types.js';

/**
 * Wake-ups for one database file.
 * - In this process: every store instance on the same file shares a channel, so a submit wakes
 *   a worker at once, with the details (queues, ids).
 * - From other processes: the WAL file is watched; a write there that `PRAGMA data_version` says
 *   came from another connection is announced as `{ type: 'changed' }`. Workers still poll as a
 *   fallback (a file system without change events never strands a job).
 */
const channels = new Map<string, Set<StoreListener>>();
const RECHECK_MS = 2;

export function publish(key: string, notification: StoreNotification): void {
  const listeners = channels.get(key);
  if (!listeners) return;
  for (const listener of listeners) listener(notification);
}

export interface Subscriptions {
  subscribe(listener: StoreListener): () => void;
  close(): void;
}

export function createSubscriptions(
  key: string,
  file: string | null,
  dataVersion: () => number,
  onError: (err: unknown) => void,
): Subscriptions {
  const mine = new Set<StoreListener>();
  let watcher: FSWatcher | null = null;
  let lastVersion = 0;
  let checkScheduled = false;

  let recheck: NodeJS.Timeout | null = null;

  /**
   * Another process appends its WAL frames before its commit becomes visible, and the commit
   * itself raises no file event; so a check that sees no change looks once more shortly after.
   */
  const check = (isRecheck = false) => {
    checkScheduled = false;
    if (mine.size === 0) return;
    let version: number;
    try {
      version = dataVersion();
    } catch (err) {
      onError(err);
      return;
    }
    if (version === lastVersion) {
      if (!isRecheck && recheck === null) {
        recheck = setTimeout(() => {
          recheck = null;
          check(true);
        }, RECHECK_MS);
      }
      return;
    }
    lastVersion = version;
    for (const listener of mine) listener({ type: 'changed' });
  };

  const startWatching = () => {
    if (!file || watcher) return;
    const wal = `${basename(file)}-wal`;
    lastVersion = dataVersion();
    watcher = watch(dirname(file), { persistent: false }, (_event, name) => {
      if (name !== wal || checkScheduled) return;
      checkScheduled = true;
      setImmediate(check);
    });
    watcher.on('error', onError);
  };

  const stopWatching = () => {
    watcher?.close();
    watcher = null;
    if (recheck) clearTimeout(recheck);
    recheck = null;
  };

  return {
    subscribe(listener) {
      let shared = channels.get(key);
      if (!shared) {
        shared = new Set();
        channels.set(key, shared);
      }
      shared.add(listener);
      mine.add(listener);
      startWatching();
      return () => {
        mine.delete(listener);
        shared.delete(listener);
        if (shared.size === 0) channels.delete(key);
        if (mine.size === 0) stopWatching();
      };
    },
    close() {
      const shared = channels.get(key);
      for (const listener of mine) shared?.delete(listener);
      if (shared?.size === 0) channels.delete(key);
      mine.clear();
      stopWatching();
    },
  };
}
