import { createPostgresStore } from '../../src/store/postgres/store.js';
import { freshSchema, PG_URL, pgAvailable } from '../pg.js';
import { describeFlowConformance } from './flow-conformance.js';
import { describePlacementConformance } from './placement-conformance.js';
import { describeScheduleConformance } from './schedule-conformance.js';
import { describeStoreConformance } from './store-conformance.js';

// Skipped only when PostgreSQL is unreachable and STINT_REQUIRE_PG is not set (CI sets it).
const available = await pgAvailable();

if (available) {
  describeStoreConformance('postgres', async (clock) => {
    const store = createPostgresStore({
      connectionString: PG_URL,
      schema: freshSchema(),
      clock,
      maxConnections: 4,
    });
    await store.now(); // migrated and reachable
    return store;
  });
  describeFlowConformance('postgres', async () => {
    const store = createPostgresStore({ connectionString: PG_URL, schema: freshSchema(), maxConnections: 6 });
    await store.now();
    return store;
  });
  describePlacementConformance('postgres', async (clock) => {
    const store = createPostgresStore({
      connectionString: PG_URL,
      schema: freshSchema(),
      clock,
      maxConnections: 4,
    });
    await store.now();
    return store;
  });
  describeScheduleConformance('postgres', async (clock) => {
    const store = createPostgresStore({
      connectionString: PG_URL,
      schema: freshSchema(),
      clock,
      maxConnections: 4,
    });
    await store.now();
    return store;
  });
} else {
  const { it } = await import('vitest');
  it.skip('store conformance: postgres (PostgreSQL not reachable; set STINT_REQUIRE_PG=1 to fail instead)', () => {});
}
