import { createPostgresStore } from '../../src/store/postgres/store.js';
import { freshSchema, PG_URL, pgAvailable } from '../pg.js';
import { describeStatsConformance } from './stats-conformance.js';

// Skipped only when PostgreSQL is unreachable and STINT_REQUIRE_PG is not set (CI sets it).
if (await pgAvailable()) {
  describeStatsConformance('postgres', async (clock) => {
    const store = createPostgresStore({
      connectionString: PG_URL,
      schema: freshSchema(),
      clock,
      maxConnections: 4,
    });
    await store.now(); // migrated and reachable
    return store;
  });
} else {
  const { it } = await import('vitest');
  it.skip('stats conformance: postgres (PostgreSQL not reachable; set STINT_REQUIRE_PG=1 to fail instead)', () => {});
}
