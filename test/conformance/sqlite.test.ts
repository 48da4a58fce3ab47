import { createSqliteStore } from '../../src/store/sqlite/store.js';
import { tempDbPath, tempDir } from '../helpers.js';
import { describeFlowConformance } from './flow-conformance.js';
import { describePlacementConformance } from './placement-conformance.js';
import { describeScheduleConformance } from './schedule-conformance.js';
import { describeStoreConformance } from './store-conformance.js';

const dir = tempDir();

describeStoreConformance('sqlite file', async (clock) => createSqliteStore({ path: tempDbPath(dir), clock }));
describeStoreConformance('sqlite memory', async (clock) => createSqliteStore({ path: ':memory:', clock }));
describeFlowConformance('sqlite', async () => createSqliteStore({ path: tempDbPath(dir) }));
describeScheduleConformance('sqlite', async (clock) => createSqliteStore({ path: tempDbPath(dir), clock }));
describePlacementConformance('sqlite', async (clock) => createSqliteStore({ path: tempDbPath(dir), clock }));
