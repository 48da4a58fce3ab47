import { createHash } from 'node:crypto';
import pg from 'pg';
import type { PgFlowStatements } from './flow-sql.js';
import type { PgStatements } from './sql.js';

/** A pool, or one client inside a transaction; both have `query`. */
export type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

/** bigint (int8) as a JS number: ids and millisecond times stay far below 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/**
 * Checks out a connection for `fn`. A checked-out client that loses its connection emits 'error',
 * which would crash the process without a listener (the pool only listens on idle clients); here
 * it is caught, the query in flight fails instead, and the broken client is discarded on release.
 */
export async function withConnection<R>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<R>,
): Promise<R> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (err: Error) => {
    broken = err;
  };
  client.on('error', onError);
  try {
    return await fn(client);
  } finally {
    client.removeListener('error', onError);
    client.release(broken);
  }
}

/** Every named statement of the store: jobs (sql.ts) and flows (flow-sql.ts). */
export type Statements = PgStatements & PgFlowStatements;

export interface Db {
  /** The schema name, unquoted. */
  schema: string;
  statements: Statements;
  /** Runs a named statement (prepared once per connection) with this store's type parsers. */
  run<R = Record<string, unknown>>(on: Queryable, key: keyof Statements, values: unknown[]): Promise<R[]>;
  /** Runs ad-hoc SQL (listing with filters); values are still bound. */
  runText<R = Record<string, unknown>>(on: Queryable, text: string, values: unknown[]): Promise<R[]>;
  /**
   * Runs SQL built from a small fixed set of shapes (flow patches), prepared once per connection
   * under a name derived from its text.
   */
  runShaped<R = Record<string, unknown>>(on: Queryable, text: string, values: unknown[]): Promise<R[]>;
}

export function createDb(schema: string, statements: Statements): Db {
  const prefix = `stint_${createHash('sha1').update(schema).digest('hex').slice(0, 8)}_`;
  const shapedNames = new Map<string, string>();
  return {
    schema,
    statements,
    async run(on, key, values) {
      const result = await on.query({ name: prefix + key, text: statements[key], values, types });
      return result.rows;
    },
    async runText(on, text, values) {
      const result = await on.query({ text, values, types });
      return result.rows;
    },
    async runShaped(on, text, values) {
      let name = shapedNames.get(text);
      if (name === undefined) {
        name = `${prefix}h${createHash('sha1').update(text).digest('hex').slice(0, 12)}`;
        shapedNames.set(text, name);
      }
      const result = await on.query({ name, text, values, types });
      return result.rows;
    },
  };
}
