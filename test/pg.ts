import pg from 'pg';
import { afterAll } from 'vitest';

/** Where the PostgreSQL tests connect: STINT_TEST_PG_URL, else the local server. */
export const PG_URL = process.env.STINT_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * Whether PostgreSQL is reachable. With STINT_REQUIRE_PG=1 (CI) an unreachable server is an
 * error rather than a reason to skip.
 */
export async function pgAvailable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch (err) {
    if (process.env.STINT_REQUIRE_PG === '1') {
      throw new Error(
        `PostgreSQL at ${PG_URL} is not reachable and STINT_REQUIRE_PG=1: ${(err as Error).message}`,
      );
    }
    return false;
  }
}

let counter = 0;
const created: string[] = [];

/** A fresh schema name for this test run; every schema made this way is dropped after the file. */
export function freshSchema(prefix = 'stint_test'): string {
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter++}`;
  created.push(name);
  return name;
}

afterAll(async () => {
  if (created.length === 0) return;
  const client = new pg.Client({ connectionString: PG_URL });
  try {
    await client.connect();
    for (const schema of created.splice(0)) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
});
