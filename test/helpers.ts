import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import type { Store } from '../src/store/types.js';

/** A temp directory removed after the test file. */
export function tempDir(prefix = 'stint-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

let counter = 0;
/** A fresh database path inside a temp directory. */
export function tempDbPath(dir: string): string {
  return join(dir, `db-${process.pid}-${counter++}.db`);
}

/** Polls `check` until it returns a truthy value, or fails after `timeoutMs`. For cross-process waits only. */
export async function eventually<T>(
  check: () => Promise<T> | T,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The store with its claims counted (`claimJobs` and `completeAndClaim` alike). */
export function countingClaims(store: Store): { store: Store; claims: () => number } {
  let claims = 0;
  const counted: Store = {
    ...store,
    claimJobs: (req) => {
      claims++;
      return store.claimJobs(req);
    },
    completeAndClaim: (batch, req) => {
      claims++;
      return store.completeAndClaim(batch, req);
    },
  };
  return { store: counted, claims: () => claims };
}
