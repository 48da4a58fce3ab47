import { DEFAULT_DATABASE, openStore } from '../store/open.js';
import type { Store } from '../store/types.js';

export interface GlobalOptions {
  database?: string;
  json?: boolean;
}

/** The database every command uses: `--database`, else `STINT_DATABASE_URL`, else `.stint/stint.db`. */
export function databaseUrl(options: GlobalOptions): string {
  return options.database ?? process.env.STINT_DATABASE_URL ?? DEFAULT_DATABASE;
}

export async function withStore<T>(options: GlobalOptions, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = openStore(databaseUrl(options));
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Exit codes: 0 ok, 1 the job failed or an operation failed, 2 usage error. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;
