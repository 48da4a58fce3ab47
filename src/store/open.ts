import type { Clock } from '../core/clock.js';
import { ValidationError } from '../core/errors.js';
import { createPostgresStore } from './postgres/store.js';
import { createSqliteStore } from './sqlite/store.js';
import type { Store } from './types.js';

/** Where `stint dev` and the CLI keep the embedded database unless told otherwise. */
export const DEFAULT_DATABASE = '.stint/stint.db';

/**
 * Opens a store from one setting: a file path or `sqlite:<path>` URL opens SQLite
 * (`sqlite::memory:` for a private in-memory database); a `postgres://` URL opens PostgreSQL
 * (`?schema=name` picks the schema, default `stint`).
 */
export function openStore(url: string, options: { clock?: Clock } = {}): Store {
  if (/^postgres(ql)?:\/\//.test(url)) {
    // The schema may be given as ?schema=name; the rest of the URL goes to node-postgres.
    const parsed = new URL(url);
    const schema = parsed.searchParams.get('schema') ?? undefined;
    parsed.searchParams.delete('schema');
    return createPostgresStore({ connectionString: parsed.toString(), ...(schema ? { schema } : {}) });
  }
  const path = url.startsWith('sqlite:') ? url.slice('sqlite:'.length).replace(/^\/\//, '') : url;
  if (path.length === 0) {
    throw new ValidationError('the database path is empty', [{ path: 'database', message: 'empty' }]);
  }
  return createSqliteStore({ path, ...(options.clock ? { clock: options.clock } : {}) });
}
