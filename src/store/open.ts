import type { Clock } from '../core/clock.js';
import { ValidationError } from '../core/errors.js';
import { createSqliteStore } from './sqlite/store.js';
import type { Store } from './types.js';

/** Where `stint dev` and the CLI keep the embedded database unless told otherwise. */
export const DEFAULT_DATABASE = '.stint/stint.db';

/**
 * Opens a store from one setting: a file path or `sqlite:<path>` URL opens SQLite
 * (`sqlite::memory:` for a private in-memory database).
 */
export function openStore(url: string, options: { clock?: Clock } = {}): Store {
  if (/^postgres(ql)?:\/\//.test(url)) {
    throw new ValidationError(
      'PostgreSQL is not supported by this version of stint yet; use a SQLite file path',
      [{ path: 'database', message: 'postgres URLs are not supported yet' }],
    );
  }
  const path = url.startsWith('sqlite:') ? url.slice('sqlite:'.length).replace(/^\/\//, '') : url;
  if (path.length === 0) {
    throw new ValidationError('the database path is empty', [{ path: 'database', message: 'empty' }]);
  }
  return createSqliteStore({ path, ...(options.clock ? { clock: options.clock } : {}) });
}
