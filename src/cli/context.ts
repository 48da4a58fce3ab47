import { ValidationError } from '../core/errors.js';
import { DEFAULT_DATABASE, openStore } from '../store/open.js';
import type { Store } from '../store/types.js';

export interface GlobalOptions {
  database?: string;
  /** A stint server to work on instead of a store (env `STINT_SERVER`). */
  server?: string;
  /** Its API token (env `STINT_TOKEN`); never printed. */
  token?: string;
  json?: boolean;
}

/** Where a command works: on a store, or on a stint server through its HTTP API. */
export type Target =
  | { kind: 'store'; url: string }
  | { kind: 'server'; url: string; token: string | undefined };

function conflict(message: string, path: string): never {
  throw new ValidationError(message, [{ path, message: 'conflicting options' }]);
}

/**
 * `--server` or `--database` (giving both is an error); without either, `STINT_SERVER` or
 * `STINT_DATABASE_URL` (both set is an error too), else the default SQLite file.
 */
export function target(options: GlobalOptions): Target {
  const token = options.token ?? (process.env.STINT_TOKEN || undefined);
  if (options.server !== undefined && options.database !== undefined)
    conflict('give --server or --database, not both: a command works on a server or on a store', '--server');
  if (options.server !== undefined) return { kind: 'server', url: options.server, token };
  if (options.database !== undefined) {
    if (options.token !== undefined) conflict('--token goes with --server, not with --database', '--token');
    return { kind: 'store', url: options.database };
  }
  const envServer = process.env.STINT_SERVER || undefined;
  const envDatabase = process.env.STINT_DATABASE_URL || undefined;
  if (envServer !== undefined && envDatabase !== undefined)
    conflict(
      'both STINT_SERVER and STINT_DATABASE_URL are set: pick one with --server URL or --database URL (or unset one)',
      'STINT_SERVER',
    );
  if (envServer !== undefined) return { kind: 'server', url: envServer, token };
  if (options.token !== undefined)
    conflict('--token goes with --server URL (or STINT_SERVER): which server is it for?', '--token');
  return { kind: 'store', url: envDatabase ?? DEFAULT_DATABASE };
}

/** Why a command that needs the store cannot run on a server. */
export function needsStore(command: string): ValidationError {
  return new ValidationError(
    `stint ${command} works on the store itself, not through a server: give --database URL (or STINT_DATABASE_URL) instead of --server`,
    [{ path: '--server', message: `not available for stint ${command}` }],
  );
}

/**
 * The database of a command that needs the store (worker, server, migrate, tokens, ...):
 * `--database`, else `STINT_DATABASE_URL`, else `.stint/stint.db`. `--server` is an error, and so
 * is `STINT_SERVER` alone (the command would otherwise quietly open a local file).
 */
export function databaseUrl(options: GlobalOptions, command = 'this command'): string {
  const envDatabase = process.env.STINT_DATABASE_URL || undefined;
  if (options.server !== undefined) throw needsStore(command);
  if (options.database === undefined && envDatabase === undefined && process.env.STINT_SERVER)
    throw needsStore(command);
  return options.database ?? envDatabase ?? DEFAULT_DATABASE;
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
